/**
 * The WASI preview 1 ABI (`wasi_snapshot_preview1`): error numbers, flags,
 * struct layouts and the signature of every function, as wasi-libc's
 * `wasi/api.h` (generated from the witx files) defines them.
 */

/** Error numbers, in witx order (`errno`, u16). */
export const Errno = {
  success: 0,
  '2big': 1,
  acces: 2,
  addrinuse: 3,
  addrnotavail: 4,
  afnosupport: 5,
  again: 6,
  already: 7,
  badf: 8,
  badmsg: 9,
  busy: 10,
  canceled: 11,
  child: 12,
  connaborted: 13,
  connrefused: 14,
  connreset: 15,
  deadlk: 16,
  destaddrreq: 17,
  dom: 18,
  dquot: 19,
  exist: 20,
  fault: 21,
  fbig: 22,
  hostunreach: 23,
  idrm: 24,
  ilseq: 25,
  inprogress: 26,
  intr: 27,
  inval: 28,
  io: 29,
  isconn: 30,
  isdir: 31,
  loop: 32,
  mfile: 33,
  mlink: 34,
  msgsize: 35,
  multihop: 36,
  nametoolong: 37,
  netdown: 38,
  netreset: 39,
  netunreach: 40,
  nfile: 41,
  nobufs: 42,
  nodev: 43,
  noent: 44,
  noexec: 45,
  nolck: 46,
  nolink: 47,
  nomem: 48,
  nomsg: 49,
  noprotoopt: 50,
  nospc: 51,
  nosys: 52,
  notconn: 53,
  notdir: 54,
  notempty: 55,
  notrecoverable: 56,
  notsock: 57,
  notsup: 58,
  notty: 59,
  nxio: 60,
  overflow: 61,
  ownerdead: 62,
  perm: 63,
  pipe: 64,
  proto: 65,
  protonosupport: 66,
  prototype: 67,
  range: 68,
  rofs: 69,
  spipe: 70,
  srch: 71,
  stale: 72,
  timedout: 73,
  txtbsy: 74,
  xdev: 75,
  notcapable: 76,
} as const;
export type Errno = (typeof Errno)[keyof typeof Errno];

/** Clocks (`clockid`, u32). */
export const ClockId = { realtime: 0, monotonic: 1, processCputime: 2, threadCputime: 3 } as const;

/** File types (`filetype`, u8). */
export const FileType = {
  unknown: 0,
  blockDevice: 1,
  characterDevice: 2,
  directory: 3,
  regularFile: 4,
  socketDgram: 5,
  socketStream: 6,
  symbolicLink: 7,
} as const;
export type FileType = (typeof FileType)[keyof typeof FileType];

/** Descriptor flags (`fdflags`, u16). */
export const FdFlags = { append: 1, dsync: 2, nonblock: 4, rsync: 8, sync: 16 } as const;
/** Open flags (`oflags`, u16). */
export const OFlags = { creat: 1, directory: 2, excl: 4, trunc: 8 } as const;
/** Lookup flags (`lookupflags`, u32). */
export const LookupFlags = { symlinkFollow: 1 } as const;
/** Which timestamps to set (`fstflags`, u16). */
export const FstFlags = { atim: 1, atimNow: 2, mtim: 4, mtimNow: 8 } as const;
/** Seek origins (`whence`, u8). */
export const Whence = { set: 0, cur: 1, end: 2 } as const;
/** Event types (`eventtype`, u8). */
export const EventType = { clock: 0, fdRead: 1, fdWrite: 2 } as const;
/** Subscription clock flags (`subclockflags`, u16). */
export const SubclockFlags = { abstime: 1 } as const;
/** File advice (`advice`, u8): 0 to 5 are valid. */
export const LAST_ADVICE = 5;
/** Directory cookie of the first entry. */
export const DIRCOOKIE_START = 0n;

/** Rights (`rights`, u64 bits). */
export const Rights = {
  fdDatasync: 1n << 0n,
  fdRead: 1n << 1n,
  fdSeek: 1n << 2n,
  fdFdstatSetFlags: 1n << 3n,
  fdSync: 1n << 4n,
  fdTell: 1n << 5n,
  fdWrite: 1n << 6n,
  fdAdvise: 1n << 7n,
  fdAllocate: 1n << 8n,
  pathCreateDirectory: 1n << 9n,
  pathCreateFile: 1n << 10n,
  pathLinkSource: 1n << 11n,
  pathLinkTarget: 1n << 12n,
  pathOpen: 1n << 13n,
  fdReaddir: 1n << 14n,
  pathReadlink: 1n << 15n,
  pathRenameSource: 1n << 16n,
  pathRenameTarget: 1n << 17n,
  pathFilestatGet: 1n << 18n,
  pathFilestatSetSize: 1n << 19n,
  pathFilestatSetTimes: 1n << 20n,
  fdFilestatGet: 1n << 21n,
  fdFilestatSetSize: 1n << 22n,
  fdFilestatSetTimes: 1n << 23n,
  pathSymlink: 1n << 24n,
  pathRemoveDirectory: 1n << 25n,
  pathUnlinkFile: 1n << 26n,
  pollFdReadwrite: 1n << 27n,
  sockShutdown: 1n << 28n,
  sockAccept: 1n << 29n,
} as const;

const all = (...rights: bigint[]) => rights.reduce((a, b) => a | b, 0n);

/** Every right a regular file can have. */
export const FILE_RIGHTS = all(
  Rights.fdDatasync,
  Rights.fdRead,
  Rights.fdSeek,
  Rights.fdFdstatSetFlags,
  Rights.fdSync,
  Rights.fdTell,
  Rights.fdWrite,
  Rights.fdAdvise,
  Rights.fdAllocate,
  Rights.fdFilestatGet,
  Rights.fdFilestatSetSize,
  Rights.fdFilestatSetTimes,
  Rights.pollFdReadwrite,
);

/** Every right a directory can have (itself; what it opens inherits up to `FILE_RIGHTS | DIRECTORY_RIGHTS`). */
export const DIRECTORY_RIGHTS = all(
  Rights.fdFdstatSetFlags,
  Rights.fdSync,
  Rights.fdAdvise,
  Rights.pathCreateDirectory,
  Rights.pathCreateFile,
  Rights.pathLinkSource,
  Rights.pathLinkTarget,
  Rights.pathOpen,
  Rights.fdReaddir,
  Rights.pathReadlink,
  Rights.pathRenameSource,
  Rights.pathRenameTarget,
  Rights.pathFilestatGet,
  Rights.pathFilestatSetSize,
  Rights.pathFilestatSetTimes,
  Rights.fdFilestatGet,
  Rights.fdFilestatSetTimes,
  Rights.pathSymlink,
  Rights.pathRemoveDirectory,
  Rights.pathUnlinkFile,
);

/** The rights of standard input, output and error (character devices). */
export const STDIO_RIGHTS = all(
  Rights.fdRead,
  Rights.fdWrite,
  Rights.fdFdstatSetFlags,
  Rights.fdFilestatGet,
  Rights.pollFdReadwrite,
);

/** Struct sizes and field offsets (bytes). */
export const Layout = {
  iovec: { size: 8, buf: 0, len: 4 },
  fdstat: { size: 24, filetype: 0, flags: 2, rightsBase: 8, rightsInheriting: 16 },
  filestat: { size: 64, dev: 0, ino: 8, filetype: 16, nlink: 24, size_: 32, atim: 40, mtim: 48, ctim: 56 },
  dirent: { size: 24, next: 0, ino: 8, namlen: 16, type: 20 },
  prestat: { size: 8, tag: 0, nameLength: 4 },
  subscription: {
    size: 48,
    userdata: 0,
    tag: 8,
    clockId: 16,
    timeout: 24,
    precision: 32,
    flags: 40,
    fd: 16,
  },
  event: { size: 32, userdata: 0, error: 8, type: 10, nbytes: 16, flags: 24 },
} as const;

type ValueType = 'i32' | 'i64';

/** Every function of `wasi_snapshot_preview1`: its parameters and results, as the guest imports it. */
export const WASI_FUNCTIONS: Readonly<
  Record<string, readonly [params: readonly ValueType[], results: readonly ValueType[]]>
> = {
  args_get: [['i32', 'i32'], ['i32']],
  args_sizes_get: [['i32', 'i32'], ['i32']],
  environ_get: [['i32', 'i32'], ['i32']],
  environ_sizes_get: [['i32', 'i32'], ['i32']],
  clock_res_get: [['i32', 'i32'], ['i32']],
  clock_time_get: [['i32', 'i64', 'i32'], ['i32']],
  fd_advise: [['i32', 'i64', 'i64', 'i32'], ['i32']],
  fd_allocate: [['i32', 'i64', 'i64'], ['i32']],
  fd_close: [['i32'], ['i32']],
  fd_datasync: [['i32'], ['i32']],
  fd_fdstat_get: [['i32', 'i32'], ['i32']],
  fd_fdstat_set_flags: [['i32', 'i32'], ['i32']],
  fd_fdstat_set_rights: [['i32', 'i64', 'i64'], ['i32']],
  fd_filestat_get: [['i32', 'i32'], ['i32']],
  fd_filestat_set_size: [['i32', 'i64'], ['i32']],
  fd_filestat_set_times: [['i32', 'i64', 'i64', 'i32'], ['i32']],
  fd_pread: [['i32', 'i32', 'i32', 'i64', 'i32'], ['i32']],
  fd_prestat_get: [['i32', 'i32'], ['i32']],
  fd_prestat_dir_name: [['i32', 'i32', 'i32'], ['i32']],
  fd_pwrite: [['i32', 'i32', 'i32', 'i64', 'i32'], ['i32']],
  fd_read: [['i32', 'i32', 'i32', 'i32'], ['i32']],
  fd_readdir: [['i32', 'i32', 'i32', 'i64', 'i32'], ['i32']],
  fd_renumber: [['i32', 'i32'], ['i32']],
  fd_seek: [['i32', 'i64', 'i32', 'i32'], ['i32']],
  fd_sync: [['i32'], ['i32']],
  fd_tell: [['i32', 'i32'], ['i32']],
  fd_write: [['i32', 'i32', 'i32', 'i32'], ['i32']],
  path_create_directory: [['i32', 'i32', 'i32'], ['i32']],
  path_filestat_get: [['i32', 'i32', 'i32', 'i32', 'i32'], ['i32']],
  path_filestat_set_times: [['i32', 'i32', 'i32', 'i32', 'i64', 'i64', 'i32'], ['i32']],
  path_link: [['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], ['i32']],
  path_open: [['i32', 'i32', 'i32', 'i32', 'i32', 'i64', 'i64', 'i32', 'i32'], ['i32']],
  path_readlink: [['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], ['i32']],
  path_remove_directory: [['i32', 'i32', 'i32'], ['i32']],
  path_rename: [['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], ['i32']],
  path_symlink: [['i32', 'i32', 'i32', 'i32', 'i32'], ['i32']],
  path_unlink_file: [['i32', 'i32', 'i32'], ['i32']],
  poll_oneoff: [['i32', 'i32', 'i32', 'i32'], ['i32']],
  proc_exit: [['i32'], []],
  proc_raise: [['i32'], ['i32']],
  sched_yield: [[], ['i32']],
  random_get: [['i32', 'i32'], ['i32']],
  sock_accept: [['i32', 'i32', 'i32'], ['i32']],
  sock_recv: [['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], ['i32']],
  sock_send: [['i32', 'i32', 'i32', 'i32', 'i32'], ['i32']],
  sock_shutdown: [['i32', 'i32'], ['i32']],
};

/** The import module every WASI preview 1 function is imported from. */
export const WASI_MODULE = 'wasi_snapshot_preview1';
