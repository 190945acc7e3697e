// Host functions of the worker benchmark, imported by each worker: `spin` never returns.
export default {
  spin: {
    name: 'spin',
    params: [],
    results: [],
    handler: () => {
      for (;;);
    },
  },
};
