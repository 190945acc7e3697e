/**
 * What a group of WASI calls is: implementations by function name. Each takes
 * the guest's arguments (i32 as numbers, i64 as bigints) and either returns
 * (the call succeeded), or throws a `CallError` with the errno to answer.
 */
export type Call = (...args: never[]) => void;

/** Calls by their `wasi_snapshot_preview1` name. */
export type Calls = Readonly<Record<string, Call>>;
