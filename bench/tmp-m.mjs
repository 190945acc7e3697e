import * as m from './metering.mjs';
const r = await m.run(() => {});
console.log(JSON.stringify(r.nan));
