/**
 * The one table of WebAssembly instructions. Every name, encoding, immediate
 * kind and feature used anywhere in ri-sandbox is derived from the rows below.
 *
 * Covers everything Node 20 (V8 11.3) validates by default: MVP, sign
 * extension, non-trapping float-to-int, multi-value, bulk memory, reference
 * types, fixed-width SIMD, threads (atomics), legacy exception handling and
 * tail calls; plus relaxed SIMD, so that policies can name it when rejecting it.
 */

/** How the bytes that follow an opcode are laid out. */
export type ImmediateKind =
  | 'none'
  | 'blocktype'
  | 'label'
  | 'br_table'
  | 'function'
  | 'call_indirect'
  | 'local'
  | 'global'
  | 'table'
  | 'tag'
  | 'memarg'
  | 'memory'
  | 'i32'
  | 'i64'
  | 'f32'
  | 'f64'
  | 'select_types'
  | 'heaptype'
  | 'data'
  | 'elem'
  | 'memory.init'
  | 'memory.copy'
  | 'table.init'
  | 'table.copy'
  | 'v128'
  | 'shuffle'
  | 'lane'
  | 'memarg_lane'
  | 'fence';

/** The WebAssembly proposal that introduced an instruction. */
export type Feature =
  | 'mvp'
  | 'sign-extension'
  | 'saturating-float-to-int'
  | 'bulk-memory'
  | 'reference-types'
  | 'simd'
  | 'relaxed-simd'
  | 'threads'
  | 'exceptions'
  | 'tail-call';

/** Prefix bytes of the multi-byte opcode spaces. */
export const PREFIX_MISC = 0xfc;
export const PREFIX_SIMD = 0xfd;
export const PREFIX_ATOMIC = 0xfe;

type Row = readonly [code: number, name: string, immediate: ImmediateKind];
type Group = readonly [prefix: number | undefined, feature: Feature, rows: readonly Row[]];

const FP_UNARY = ['abs', 'neg', 'ceil', 'floor', 'trunc', 'nearest', 'sqrt'] as const;
const FP_BINARY = ['add', 'sub', 'mul', 'div', 'min', 'max', 'copysign'] as const;

// prettier-ignore
const GROUPS: readonly Group[] = [
  [undefined, 'mvp', [
    [0x00, 'unreachable', 'none'], [0x01, 'nop', 'none'],
    [0x02, 'block', 'blocktype'], [0x03, 'loop', 'blocktype'], [0x04, 'if', 'blocktype'],
    [0x05, 'else', 'none'], [0x0b, 'end', 'none'],
    [0x0c, 'br', 'label'], [0x0d, 'br_if', 'label'], [0x0e, 'br_table', 'br_table'],
    [0x0f, 'return', 'none'], [0x10, 'call', 'function'], [0x11, 'call_indirect', 'call_indirect'],
    [0x1a, 'drop', 'none'], [0x1b, 'select', 'none'],
    [0x20, 'local.get', 'local'], [0x21, 'local.set', 'local'], [0x22, 'local.tee', 'local'],
    [0x23, 'global.get', 'global'], [0x24, 'global.set', 'global'],
    [0x28, 'i32.load', 'memarg'], [0x29, 'i64.load', 'memarg'], [0x2a, 'f32.load', 'memarg'],
    [0x2b, 'f64.load', 'memarg'], [0x2c, 'i32.load8_s', 'memarg'], [0x2d, 'i32.load8_u', 'memarg'],
    [0x2e, 'i32.load16_s', 'memarg'], [0x2f, 'i32.load16_u', 'memarg'], [0x30, 'i64.load8_s', 'memarg'],
    [0x31, 'i64.load8_u', 'memarg'], [0x32, 'i64.load16_s', 'memarg'], [0x33, 'i64.load16_u', 'memarg'],
    [0x34, 'i64.load32_s', 'memarg'], [0x35, 'i64.load32_u', 'memarg'], [0x36, 'i32.store', 'memarg'],
    [0x37, 'i64.store', 'memarg'], [0x38, 'f32.store', 'memarg'], [0x39, 'f64.store', 'memarg'],
    [0x3a, 'i32.store8', 'memarg'], [0x3b, 'i32.store16', 'memarg'], [0x3c, 'i64.store8', 'memarg'],
    [0x3d, 'i64.store16', 'memarg'], [0x3e, 'i64.store32', 'memarg'],
    [0x3f, 'memory.size', 'memory'], [0x40, 'memory.grow', 'memory'],
    [0x41, 'i32.const', 'i32'], [0x42, 'i64.const', 'i64'], [0x43, 'f32.const', 'f32'], [0x44, 'f64.const', 'f64'],
    [0x45, 'i32.eqz', 'none'], [0x46, 'i32.eq', 'none'], [0x47, 'i32.ne', 'none'], [0x48, 'i32.lt_s', 'none'],
    [0x49, 'i32.lt_u', 'none'], [0x4a, 'i32.gt_s', 'none'], [0x4b, 'i32.gt_u', 'none'], [0x4c, 'i32.le_s', 'none'],
    [0x4d, 'i32.le_u', 'none'], [0x4e, 'i32.ge_s', 'none'], [0x4f, 'i32.ge_u', 'none'],
    [0x50, 'i64.eqz', 'none'], [0x51, 'i64.eq', 'none'], [0x52, 'i64.ne', 'none'], [0x53, 'i64.lt_s', 'none'],
    [0x54, 'i64.lt_u', 'none'], [0x55, 'i64.gt_s', 'none'], [0x56, 'i64.gt_u', 'none'], [0x57, 'i64.le_s', 'none'],
    [0x58, 'i64.le_u', 'none'], [0x59, 'i64.ge_s', 'none'], [0x5a, 'i64.ge_u', 'none'],
    [0x5b, 'f32.eq', 'none'], [0x5c, 'f32.ne', 'none'], [0x5d, 'f32.lt', 'none'], [0x5e, 'f32.gt', 'none'],
    [0x5f, 'f32.le', 'none'], [0x60, 'f32.ge', 'none'],
    [0x61, 'f64.eq', 'none'], [0x62, 'f64.ne', 'none'], [0x63, 'f64.lt', 'none'], [0x64, 'f64.gt', 'none'],
    [0x65, 'f64.le', 'none'], [0x66, 'f64.ge', 'none'],
    [0x67, 'i32.clz', 'none'], [0x68, 'i32.ctz', 'none'], [0x69, 'i32.popcnt', 'none'], [0x6a, 'i32.add', 'none'],
    [0x6b, 'i32.sub', 'none'], [0x6c, 'i32.mul', 'none'], [0x6d, 'i32.div_s', 'none'], [0x6e, 'i32.div_u', 'none'],
    [0x6f, 'i32.rem_s', 'none'], [0x70, 'i32.rem_u', 'none'], [0x71, 'i32.and', 'none'], [0x72, 'i32.or', 'none'],
    [0x73, 'i32.xor', 'none'], [0x74, 'i32.shl', 'none'], [0x75, 'i32.shr_s', 'none'], [0x76, 'i32.shr_u', 'none'],
    [0x77, 'i32.rotl', 'none'], [0x78, 'i32.rotr', 'none'],
    [0x79, 'i64.clz', 'none'], [0x7a, 'i64.ctz', 'none'], [0x7b, 'i64.popcnt', 'none'], [0x7c, 'i64.add', 'none'],
    [0x7d, 'i64.sub', 'none'], [0x7e, 'i64.mul', 'none'], [0x7f, 'i64.div_s', 'none'], [0x80, 'i64.div_u', 'none'],
    [0x81, 'i64.rem_s', 'none'], [0x82, 'i64.rem_u', 'none'], [0x83, 'i64.and', 'none'], [0x84, 'i64.or', 'none'],
    [0x85, 'i64.xor', 'none'], [0x86, 'i64.shl', 'none'], [0x87, 'i64.shr_s', 'none'], [0x88, 'i64.shr_u', 'none'],
    [0x89, 'i64.rotl', 'none'], [0x8a, 'i64.rotr', 'none'],
    ...FP_UNARY.map((op, i): Row => [0x8b + i, `f32.${op}`, 'none']),
    ...FP_BINARY.map((op, i): Row => [0x92 + i, `f32.${op}`, 'none']),
    ...FP_UNARY.map((op, i): Row => [0x99 + i, `f64.${op}`, 'none']),
    ...FP_BINARY.map((op, i): Row => [0xa0 + i, `f64.${op}`, 'none']),
    [0xa7, 'i32.wrap_i64', 'none'], [0xa8, 'i32.trunc_f32_s', 'none'], [0xa9, 'i32.trunc_f32_u', 'none'],
    [0xaa, 'i32.trunc_f64_s', 'none'], [0xab, 'i32.trunc_f64_u', 'none'], [0xac, 'i64.extend_i32_s', 'none'],
    [0xad, 'i64.extend_i32_u', 'none'], [0xae, 'i64.trunc_f32_s', 'none'], [0xaf, 'i64.trunc_f32_u', 'none'],
    [0xb0, 'i64.trunc_f64_s', 'none'], [0xb1, 'i64.trunc_f64_u', 'none'], [0xb2, 'f32.convert_i32_s', 'none'],
    [0xb3, 'f32.convert_i32_u', 'none'], [0xb4, 'f32.convert_i64_s', 'none'], [0xb5, 'f32.convert_i64_u', 'none'],
    [0xb6, 'f32.demote_f64', 'none'], [0xb7, 'f64.convert_i32_s', 'none'], [0xb8, 'f64.convert_i32_u', 'none'],
    [0xb9, 'f64.convert_i64_s', 'none'], [0xba, 'f64.convert_i64_u', 'none'], [0xbb, 'f64.promote_f32', 'none'],
    [0xbc, 'i32.reinterpret_f32', 'none'], [0xbd, 'i64.reinterpret_f64', 'none'],
    [0xbe, 'f32.reinterpret_i32', 'none'], [0xbf, 'f64.reinterpret_i64', 'none'],
  ]],
  [undefined, 'exceptions', [
    [0x06, 'try', 'blocktype'], [0x07, 'catch', 'tag'], [0x08, 'throw', 'tag'], [0x09, 'rethrow', 'label'],
    [0x18, 'delegate', 'label'], [0x19, 'catch_all', 'none'],
  ]],
  [undefined, 'tail-call', [[0x12, 'return_call', 'function'], [0x13, 'return_call_indirect', 'call_indirect']]],
  [undefined, 'reference-types', [
    [0x1c, 'select', 'select_types'], [0x25, 'table.get', 'table'], [0x26, 'table.set', 'table'],
    [0xd0, 'ref.null', 'heaptype'], [0xd1, 'ref.is_null', 'none'], [0xd2, 'ref.func', 'function'],
  ]],
  [undefined, 'sign-extension', [
    [0xc0, 'i32.extend8_s', 'none'], [0xc1, 'i32.extend16_s', 'none'], [0xc2, 'i64.extend8_s', 'none'],
    [0xc3, 'i64.extend16_s', 'none'], [0xc4, 'i64.extend32_s', 'none'],
  ]],
  [PREFIX_MISC, 'saturating-float-to-int', [
    [0, 'i32.trunc_sat_f32_s', 'none'], [1, 'i32.trunc_sat_f32_u', 'none'], [2, 'i32.trunc_sat_f64_s', 'none'],
    [3, 'i32.trunc_sat_f64_u', 'none'], [4, 'i64.trunc_sat_f32_s', 'none'], [5, 'i64.trunc_sat_f32_u', 'none'],
    [6, 'i64.trunc_sat_f64_s', 'none'], [7, 'i64.trunc_sat_f64_u', 'none'],
  ]],
  [PREFIX_MISC, 'bulk-memory', [
    [8, 'memory.init', 'memory.init'], [9, 'data.drop', 'data'], [10, 'memory.copy', 'memory.copy'],
    [11, 'memory.fill', 'memory'], [12, 'table.init', 'table.init'], [13, 'elem.drop', 'elem'],
    [14, 'table.copy', 'table.copy'],
  ]],
  [PREFIX_MISC, 'reference-types', [[15, 'table.grow', 'table'], [16, 'table.size', 'table'], [17, 'table.fill', 'table']]],
  [PREFIX_SIMD, 'simd', [
    [0, 'v128.load', 'memarg'], [1, 'v128.load8x8_s', 'memarg'], [2, 'v128.load8x8_u', 'memarg'],
    [3, 'v128.load16x4_s', 'memarg'], [4, 'v128.load16x4_u', 'memarg'], [5, 'v128.load32x2_s', 'memarg'],
    [6, 'v128.load32x2_u', 'memarg'], [7, 'v128.load8_splat', 'memarg'], [8, 'v128.load16_splat', 'memarg'],
    [9, 'v128.load32_splat', 'memarg'], [10, 'v128.load64_splat', 'memarg'], [11, 'v128.store', 'memarg'],
    [12, 'v128.const', 'v128'], [13, 'i8x16.shuffle', 'shuffle'], [14, 'i8x16.swizzle', 'none'],
    [15, 'i8x16.splat', 'none'], [16, 'i16x8.splat', 'none'], [17, 'i32x4.splat', 'none'],
    [18, 'i64x2.splat', 'none'], [19, 'f32x4.splat', 'none'], [20, 'f64x2.splat', 'none'],
    [21, 'i8x16.extract_lane_s', 'lane'], [22, 'i8x16.extract_lane_u', 'lane'], [23, 'i8x16.replace_lane', 'lane'],
    [24, 'i16x8.extract_lane_s', 'lane'], [25, 'i16x8.extract_lane_u', 'lane'], [26, 'i16x8.replace_lane', 'lane'],
    [27, 'i32x4.extract_lane', 'lane'], [28, 'i32x4.replace_lane', 'lane'], [29, 'i64x2.extract_lane', 'lane'],
    [30, 'i64x2.replace_lane', 'lane'], [31, 'f32x4.extract_lane', 'lane'], [32, 'f32x4.replace_lane', 'lane'],
    [33, 'f64x2.extract_lane', 'lane'], [34, 'f64x2.replace_lane', 'lane'],
    [35, 'i8x16.eq', 'none'], [36, 'i8x16.ne', 'none'], [37, 'i8x16.lt_s', 'none'], [38, 'i8x16.lt_u', 'none'],
    [39, 'i8x16.gt_s', 'none'], [40, 'i8x16.gt_u', 'none'], [41, 'i8x16.le_s', 'none'], [42, 'i8x16.le_u', 'none'],
    [43, 'i8x16.ge_s', 'none'], [44, 'i8x16.ge_u', 'none'],
    [45, 'i16x8.eq', 'none'], [46, 'i16x8.ne', 'none'], [47, 'i16x8.lt_s', 'none'], [48, 'i16x8.lt_u', 'none'],
    [49, 'i16x8.gt_s', 'none'], [50, 'i16x8.gt_u', 'none'], [51, 'i16x8.le_s', 'none'], [52, 'i16x8.le_u', 'none'],
    [53, 'i16x8.ge_s', 'none'], [54, 'i16x8.ge_u', 'none'],
    [55, 'i32x4.eq', 'none'], [56, 'i32x4.ne', 'none'], [57, 'i32x4.lt_s', 'none'], [58, 'i32x4.lt_u', 'none'],
    [59, 'i32x4.gt_s', 'none'], [60, 'i32x4.gt_u', 'none'], [61, 'i32x4.le_s', 'none'], [62, 'i32x4.le_u', 'none'],
    [63, 'i32x4.ge_s', 'none'], [64, 'i32x4.ge_u', 'none'],
    [65, 'f32x4.eq', 'none'], [66, 'f32x4.ne', 'none'], [67, 'f32x4.lt', 'none'], [68, 'f32x4.gt', 'none'],
    [69, 'f32x4.le', 'none'], [70, 'f32x4.ge', 'none'],
    [71, 'f64x2.eq', 'none'], [72, 'f64x2.ne', 'none'], [73, 'f64x2.lt', 'none'], [74, 'f64x2.gt', 'none'],
    [75, 'f64x2.le', 'none'], [76, 'f64x2.ge', 'none'],
    [77, 'v128.not', 'none'], [78, 'v128.and', 'none'], [79, 'v128.andnot', 'none'], [80, 'v128.or', 'none'],
    [81, 'v128.xor', 'none'], [82, 'v128.bitselect', 'none'], [83, 'v128.any_true', 'none'],
    [84, 'v128.load8_lane', 'memarg_lane'], [85, 'v128.load16_lane', 'memarg_lane'],
    [86, 'v128.load32_lane', 'memarg_lane'], [87, 'v128.load64_lane', 'memarg_lane'],
    [88, 'v128.store8_lane', 'memarg_lane'], [89, 'v128.store16_lane', 'memarg_lane'],
    [90, 'v128.store32_lane', 'memarg_lane'], [91, 'v128.store64_lane', 'memarg_lane'],
    [92, 'v128.load32_zero', 'memarg'], [93, 'v128.load64_zero', 'memarg'],
    [94, 'f32x4.demote_f64x2_zero', 'none'], [95, 'f64x2.promote_low_f32x4', 'none'],
    [96, 'i8x16.abs', 'none'], [97, 'i8x16.neg', 'none'], [98, 'i8x16.popcnt', 'none'],
    [99, 'i8x16.all_true', 'none'], [100, 'i8x16.bitmask', 'none'], [101, 'i8x16.narrow_i16x8_s', 'none'],
    [102, 'i8x16.narrow_i16x8_u', 'none'], [103, 'f32x4.ceil', 'none'], [104, 'f32x4.floor', 'none'],
    [105, 'f32x4.trunc', 'none'], [106, 'f32x4.nearest', 'none'], [107, 'i8x16.shl', 'none'],
    [108, 'i8x16.shr_s', 'none'], [109, 'i8x16.shr_u', 'none'], [110, 'i8x16.add', 'none'],
    [111, 'i8x16.add_sat_s', 'none'], [112, 'i8x16.add_sat_u', 'none'], [113, 'i8x16.sub', 'none'],
    [114, 'i8x16.sub_sat_s', 'none'], [115, 'i8x16.sub_sat_u', 'none'], [116, 'f64x2.ceil', 'none'],
    [117, 'f64x2.floor', 'none'], [118, 'i8x16.min_s', 'none'], [119, 'i8x16.min_u', 'none'],
    [120, 'i8x16.max_s', 'none'], [121, 'i8x16.max_u', 'none'], [122, 'f64x2.trunc', 'none'],
    [123, 'i8x16.avgr_u', 'none'], [124, 'i16x8.extadd_pairwise_i8x16_s', 'none'],
    [125, 'i16x8.extadd_pairwise_i8x16_u', 'none'], [126, 'i32x4.extadd_pairwise_i16x8_s', 'none'],
    [127, 'i32x4.extadd_pairwise_i16x8_u', 'none'],
    [128, 'i16x8.abs', 'none'], [129, 'i16x8.neg', 'none'], [130, 'i16x8.q15mulr_sat_s', 'none'],
    [131, 'i16x8.all_true', 'none'], [132, 'i16x8.bitmask', 'none'], [133, 'i16x8.narrow_i32x4_s', 'none'],
    [134, 'i16x8.narrow_i32x4_u', 'none'], [135, 'i16x8.extend_low_i8x16_s', 'none'],
    [136, 'i16x8.extend_high_i8x16_s', 'none'], [137, 'i16x8.extend_low_i8x16_u', 'none'],
    [138, 'i16x8.extend_high_i8x16_u', 'none'], [139, 'i16x8.shl', 'none'], [140, 'i16x8.shr_s', 'none'],
    [141, 'i16x8.shr_u', 'none'], [142, 'i16x8.add', 'none'], [143, 'i16x8.add_sat_s', 'none'],
    [144, 'i16x8.add_sat_u', 'none'], [145, 'i16x8.sub', 'none'], [146, 'i16x8.sub_sat_s', 'none'],
    [147, 'i16x8.sub_sat_u', 'none'], [148, 'f64x2.nearest', 'none'], [149, 'i16x8.mul', 'none'],
    [150, 'i16x8.min_s', 'none'], [151, 'i16x8.min_u', 'none'], [152, 'i16x8.max_s', 'none'],
    [153, 'i16x8.max_u', 'none'], [155, 'i16x8.avgr_u', 'none'],
    [156, 'i16x8.extmul_low_i8x16_s', 'none'], [157, 'i16x8.extmul_high_i8x16_s', 'none'],
    [158, 'i16x8.extmul_low_i8x16_u', 'none'], [159, 'i16x8.extmul_high_i8x16_u', 'none'],
    [160, 'i32x4.abs', 'none'], [161, 'i32x4.neg', 'none'], [163, 'i32x4.all_true', 'none'],
    [164, 'i32x4.bitmask', 'none'], [167, 'i32x4.extend_low_i16x8_s', 'none'],
    [168, 'i32x4.extend_high_i16x8_s', 'none'], [169, 'i32x4.extend_low_i16x8_u', 'none'],
    [170, 'i32x4.extend_high_i16x8_u', 'none'], [171, 'i32x4.shl', 'none'], [172, 'i32x4.shr_s', 'none'],
    [173, 'i32x4.shr_u', 'none'], [174, 'i32x4.add', 'none'], [177, 'i32x4.sub', 'none'],
    [181, 'i32x4.mul', 'none'], [182, 'i32x4.min_s', 'none'], [183, 'i32x4.min_u', 'none'],
    [184, 'i32x4.max_s', 'none'], [185, 'i32x4.max_u', 'none'], [186, 'i32x4.dot_i16x8_s', 'none'],
    [188, 'i32x4.extmul_low_i16x8_s', 'none'], [189, 'i32x4.extmul_high_i16x8_s', 'none'],
    [190, 'i32x4.extmul_low_i16x8_u', 'none'], [191, 'i32x4.extmul_high_i16x8_u', 'none'],
    [192, 'i64x2.abs', 'none'], [193, 'i64x2.neg', 'none'], [195, 'i64x2.all_true', 'none'],
    [196, 'i64x2.bitmask', 'none'], [199, 'i64x2.extend_low_i32x4_s', 'none'],
    [200, 'i64x2.extend_high_i32x4_s', 'none'], [201, 'i64x2.extend_low_i32x4_u', 'none'],
    [202, 'i64x2.extend_high_i32x4_u', 'none'], [203, 'i64x2.shl', 'none'], [204, 'i64x2.shr_s', 'none'],
    [205, 'i64x2.shr_u', 'none'], [206, 'i64x2.add', 'none'], [209, 'i64x2.sub', 'none'],
    [213, 'i64x2.mul', 'none'], [214, 'i64x2.eq', 'none'], [215, 'i64x2.ne', 'none'],
    [216, 'i64x2.lt_s', 'none'], [217, 'i64x2.gt_s', 'none'], [218, 'i64x2.le_s', 'none'],
    [219, 'i64x2.ge_s', 'none'], [220, 'i64x2.extmul_low_i32x4_s', 'none'],
    [221, 'i64x2.extmul_high_i32x4_s', 'none'], [222, 'i64x2.extmul_low_i32x4_u', 'none'],
    [223, 'i64x2.extmul_high_i32x4_u', 'none'],
    [224, 'f32x4.abs', 'none'], [225, 'f32x4.neg', 'none'], [227, 'f32x4.sqrt', 'none'],
    [228, 'f32x4.add', 'none'], [229, 'f32x4.sub', 'none'], [230, 'f32x4.mul', 'none'],
    [231, 'f32x4.div', 'none'], [232, 'f32x4.min', 'none'], [233, 'f32x4.max', 'none'],
    [234, 'f32x4.pmin', 'none'], [235, 'f32x4.pmax', 'none'],
    [236, 'f64x2.abs', 'none'], [237, 'f64x2.neg', 'none'], [239, 'f64x2.sqrt', 'none'],
    [240, 'f64x2.add', 'none'], [241, 'f64x2.sub', 'none'], [242, 'f64x2.mul', 'none'],
    [243, 'f64x2.div', 'none'], [244, 'f64x2.min', 'none'], [245, 'f64x2.max', 'none'],
    [246, 'f64x2.pmin', 'none'], [247, 'f64x2.pmax', 'none'],
    [248, 'i32x4.trunc_sat_f32x4_s', 'none'], [249, 'i32x4.trunc_sat_f32x4_u', 'none'],
    [250, 'f32x4.convert_i32x4_s', 'none'], [251, 'f32x4.convert_i32x4_u', 'none'],
    [252, 'i32x4.trunc_sat_f64x2_s_zero', 'none'], [253, 'i32x4.trunc_sat_f64x2_u_zero', 'none'],
    [254, 'f64x2.convert_low_i32x4_s', 'none'], [255, 'f64x2.convert_low_i32x4_u', 'none'],
  ]],
  [PREFIX_SIMD, 'relaxed-simd', [
    [0x100, 'i8x16.relaxed_swizzle', 'none'], [0x101, 'i32x4.relaxed_trunc_f32x4_s', 'none'],
    [0x102, 'i32x4.relaxed_trunc_f32x4_u', 'none'], [0x103, 'i32x4.relaxed_trunc_f64x2_s_zero', 'none'],
    [0x104, 'i32x4.relaxed_trunc_f64x2_u_zero', 'none'], [0x105, 'f32x4.relaxed_madd', 'none'],
    [0x106, 'f32x4.relaxed_nmadd', 'none'], [0x107, 'f64x2.relaxed_madd', 'none'],
    [0x108, 'f64x2.relaxed_nmadd', 'none'], [0x109, 'i8x16.relaxed_laneselect', 'none'],
    [0x10a, 'i16x8.relaxed_laneselect', 'none'], [0x10b, 'i32x4.relaxed_laneselect', 'none'],
    [0x10c, 'i64x2.relaxed_laneselect', 'none'], [0x10d, 'f32x4.relaxed_min', 'none'],
    [0x10e, 'f32x4.relaxed_max', 'none'], [0x10f, 'f64x2.relaxed_min', 'none'],
    [0x110, 'f64x2.relaxed_max', 'none'], [0x111, 'i16x8.relaxed_q15mulr_s', 'none'],
    [0x112, 'i16x8.relaxed_dot_i8x16_i7x16_s', 'none'], [0x113, 'i32x4.relaxed_dot_i8x16_i7x16_add_s', 'none'],
  ]],
  [PREFIX_ATOMIC, 'threads', [
    [0x00, 'memory.atomic.notify', 'memarg'], [0x01, 'memory.atomic.wait32', 'memarg'],
    [0x02, 'memory.atomic.wait64', 'memarg'], [0x03, 'atomic.fence', 'fence'],
    [0x10, 'i32.atomic.load', 'memarg'], [0x11, 'i64.atomic.load', 'memarg'],
    [0x12, 'i32.atomic.load8_u', 'memarg'], [0x13, 'i32.atomic.load16_u', 'memarg'],
    [0x14, 'i64.atomic.load8_u', 'memarg'], [0x15, 'i64.atomic.load16_u', 'memarg'],
    [0x16, 'i64.atomic.load32_u', 'memarg'], [0x17, 'i32.atomic.store', 'memarg'],
    [0x18, 'i64.atomic.store', 'memarg'], [0x19, 'i32.atomic.store8', 'memarg'],
    [0x1a, 'i32.atomic.store16', 'memarg'], [0x1b, 'i64.atomic.store8', 'memarg'],
    [0x1c, 'i64.atomic.store16', 'memarg'], [0x1d, 'i64.atomic.store32', 'memarg'],
    ...(['add', 'sub', 'and', 'or', 'xor', 'xchg', 'cmpxchg'] as const).flatMap((op, i): Row[] => {
      const base = 0x1e + i * 7;
      return [
        [base, `i32.atomic.rmw.${op}`, 'memarg'],
        [base + 1, `i64.atomic.rmw.${op}`, 'memarg'],
        [base + 2, `i32.atomic.rmw8.${op}_u`, 'memarg'],
        [base + 3, `i32.atomic.rmw16.${op}_u`, 'memarg'],
        [base + 4, `i64.atomic.rmw8.${op}_u`, 'memarg'],
        [base + 5, `i64.atomic.rmw16.${op}_u`, 'memarg'],
        [base + 6, `i64.atomic.rmw32.${op}_u`, 'memarg'],
      ];
    }),
  ]],
];

/** One instruction's encoding and immediate layout. */
export interface Opcode {
  /** Text-format name, for example `i32.add` or `v128.load8_lane`. */
  readonly name: string;
  /** The prefix byte (0xFC, 0xFD or 0xFE), or `undefined` for single-byte opcodes. */
  readonly prefix: number | undefined;
  /** The opcode byte, or for prefixed opcodes the u32 LEB128 sub-opcode after the prefix. */
  readonly code: number;
  /** How the immediates that follow are encoded. */
  readonly immediate: ImmediateKind;
  /** The proposal that introduced the instruction. */
  readonly feature: Feature;
  /** `code` for single-byte opcodes, `prefix << 16 | code` for prefixed ones: unique per instruction. */
  readonly key: number;
}

/** Combines a prefix and a code into the unique key used by {@link opcodeByKey}. */
export function opcodeKey(prefix: number | undefined, code: number): number {
  return prefix === undefined ? code : (prefix << 16) | code;
}

function buildTable(): readonly Opcode[] {
  const table: Opcode[] = [];
  for (const [prefix, feature, rows] of GROUPS) {
    for (const [code, name, immediate] of rows) {
      table.push(Object.freeze({ name, prefix, code, immediate, feature, key: opcodeKey(prefix, code) }));
    }
  }
  return Object.freeze(table);
}

/** Every known instruction, in table order. */
export const OPCODES: readonly Opcode[] = buildTable();

const BY_KEY = new Map<number, Opcode>(OPCODES.map((op) => [op.key, op]));
/** The one-byte opcodes by byte: an array index, not a hash lookup, for the instructions most code is made of. */
const SINGLE_BYTE: readonly (Opcode | undefined)[] = Array.from({ length: 0x100 }, (_, byte) =>
  BY_KEY.get(byte),
);
const BY_NAME = new Map<string, Opcode>();
for (const op of OPCODES) {
  // `select` exists twice (untyped 0x1B and typed 0x1C): the name maps to the untyped form;
  // the typed form is looked up as `select_t`.
  BY_NAME.set(op.immediate === 'select_types' ? 'select_t' : op.name, op);
}

/** The instruction with the given {@link Opcode.key}, if any. */
export function opcodeByKey(key: number): Opcode | undefined {
  return key < 0x100 ? SINGLE_BYTE[key] : BY_KEY.get(key);
}

/**
 * The instruction with the given text-format name, if any. The typed `select`
 * (0x1C, with result types) is named `select_t` here to keep names unique.
 */
export function opcodeByName(name: string): Opcode | undefined {
  return BY_NAME.get(name);
}
