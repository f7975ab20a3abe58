/**
 * The kernel-log parser's prefilter: which lines of a byte block may hold an IOMMU keyword
 * (see CANDIDATE in kernel-log/shapes.ts), found at memchr-like speed so the parser decodes only those
 * lines to strings. Pure computation over bytes; falls back to null where WebAssembly SIMD is
 * unavailable (the parser then scans decoded text with its regex).
 */

/**
 * Finds the lines of a byte block that may hold a CANDIDATE keyword, and counts newlines, at
 * memchr-like speed: a hand-assembled WebAssembly SIMD loop (no toolchain, no dependency).
 *
 * Per 32 bytes: newline positions (bitmask + popcount), and the case-folded byte pairs
 * "ma" "mm" "md" "vt" (every keyword holds one: dMAr, reMAp, pci-dMA, ioMMu, sMMu, aMD-vi, VT-d).
 * Each pair hit is confirmed with a folded 4-byte compare ("dmar", "ommu", "smmu", "rema", "-dma",
 * "md-v", "vt-d", "doma" of 4.19-era AMD "IO_PAGE_FAULT domain=", and for context lines "vmd " and
 * "omma" of "command line", "dma-" of "DMA-API:"); the hit's line is
 * written out (see ScanResult) and the scan goes on after it.
 * Folding makes this a superset of CANDIDATE (it also takes "Dmar", "\rdma"); the caller tests
 * each reported line with CANDIDATE itself, so the prefilter decides nothing on its own.
 *
 * It also reports every line that may open with a dmesg -H stamp (RELATIVE_STAMP in
 * kernel-log/prefixes.ts), keyword or not: a delta moves the parser's clock on every line, so the
 * parser must see them all. Per 16 bytes: a "+" after whitespace, "[" or a byte >= 0x80 (a delta,
 * confirmed by walking back over whitespace and non-ASCII bytes to a "[" opening the line), and a
 * "[" opening a line followed by neither a digit nor a space (an anchor "[Dec 7 16:48]",
 * confirmed by " d dd:dd]" before its first "]", or reported when that "]" is more than 64 bytes
 * on). Again a superset: the parser tests such lines with RELATIVE_STAMP itself.
 */
/**
 * Memory: [0, 4) the newline count; [ARENA_AT, ARENA_END) bodies kept for `same` (the parser's
 * line cache); 64 bytes where an in-place scan saves the bytes after its block; then 63 zero bytes
 * and a "\n" (the scan reads a little before the block; the newline makes the block's first line
 * start a line for the dmesg -H test); a copied block at SCAN_DATA, zero padding, the hits.
 * Once a reader's buffers are lent (readBuffers), the copies are confined to COPY_REGION bytes and
 * the two buffers, each between 64-byte pads, and the hits of in-place scans follow (see lend).
 */
const ARENA_AT = 64
const ARENA_END = ARENA_AT + (1 << 20)
const SAVE_AT = ARENA_END
const SCAN_DATA = SAVE_AT + 128 // copied block bytes start here; the 64 before stay zero (reads before the block)
const SCAN_PAD = 64 // zero bytes after the block (SIMD reads past its end)
/** Room for copied blocks (and their hits) once the reader's buffers are lent: a 128 KiB slice's worth. */
const COPY_REGION = 2 << 20

/** int32 per hit line (ScanResult.hits). */
export const HIT_INTS = 8
const HIT_BYTES = 4 * HIT_INTS
/**
 * A hit's stamp word: 0, or STAMP_FOUND | the digits' offset from the line start | the integer
 * digits' count << 8 | the fraction digits' count << 16, for a line opening with "[", spaces
 * (0x20 only), one or more digits, ".", one or more digits, "]" (the "]" the body start follows).
 */
export const STAMP_FOUND = 1 << 24

function uleb(n: number): number[] {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n !== 0) b |= 0x80
    out.push(b)
  } while (n !== 0)
  return out
}

function sleb(n: number): number[] {
  const out: number[] = []
  for (;;) {
    const b = n & 0x7f
    n >>= 7
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b]
    out.push(b | 0x80)
  }
}

function scannerModule(): Uint8Array {
  // scan(start, end, out) -> hits; newlines counted into [0, 4). Locals: params 0–2, i32 3–17, v128 18–23.
  const start = 0, end = 1, out = 2, i = 3, nl = 4, lineStart = 5, ln = 6, o = 7, m = 8, nm = 9, bit = 10, q = 11, w = 12, before = 13, ls = 14
  const bs = 15, k = 16, h = 17
  const v0 = 18, a = 19, b = 20, c = 21, v1 = 22, c2 = 23
  // i32 24–30: the monotonic stamp's parse (see STAMP_* below)
  const sp = 24, ds = 25, ip = 26, fp = 27, sh = 28, dg = 29, fs = 30
  // v128 31: the hash's four lanes
  const hv = 31
  // i32 32–36, v128 37: the dmesg -H stamp flags (see plusFlags) and their confirmation
  const t = 32, sb = 33, r = 34, s = 35, by = 36
  const nb = 37
  const get = (x: number) => [0x20, x]
  const set = (x: number) => [0x21, x]
  const tee = (x: number) => [0x22, x]
  const i32 = (n: number) => [0x41, ...sleb(n)]
  const word = (s: string) => [0x41, ...sleb(Buffer.from(s, 'latin1').readInt32LE(0))]
  const load = (offset: number) => [0x28, 0x00, ...uleb(offset)]
  const load8 = (offset: number) => [0x2d, 0x00, ...uleb(offset)]
  const store = (offset: number) => [0x36, 0x02, ...uleb(offset)]
  const simd = (op: number) => [0xfd, ...uleb(op)]
  const vload = (offset: number) => [...simd(0x00), 0x00, ...uleb(offset)]
  // A byte splatted over 16 lanes, from a v128 local set once before the loop (locals 38 on): a
  // v128.const inside the loop is rebuilt from two 64-bit immediates at every use.
  const splatLocals = new Map<number, number>()
  const splat = (byte: number) => {
    let local = splatLocals.get(byte)
    if (local === undefined) splatLocals.set(byte, (local = 38 + splatLocals.size))
    return get(local)
  }
  const [eq8, vand, vor, anyTrue, bitmask] = [simd(0x23), simd(0x4e), simd(0x50), simd(0x53), simd(0x64)]
  const [add, sub, mul, and, or, xor, shl, clz, ctz, popcnt, eq, eqz, ltU, gtU, geU] = [[0x6a], [0x6b], [0x6c], [0x71], [0x72], [0x73], [0x74], [0x67], [0x68], [0x69], [0x46], [0x45], [0x49], [0x4b], [0x4f]]
  const neq = [0x47]
  const [ltS8, ltU8, sub8, vandnot] = [simd(0x25), simd(0x26), simd(0x71), simd(0x4f)]
  const [i32x4Splat, vxor, i32x4Mul] = [simd(0x11), simd(0x51), simd(0xb5)]
  const FOLD = 0x20
  const fold = [...i32(0x20202020), ...or]
  const ch = (s: string) => s.charCodeAt(0)
  // The folded pair hits of the 16 bytes in local `v` (loaded at i + next - 1), next byte at i + next.
  // Decimal digits from memory[sp] into local `into` (i32: exact up to 9 digits), sp left after them.
  const digitsInto = (into: number) => [
    ...i32(0), ...set(into),
    0x02, 0x40, 0x03, 0x40,
    ...get(sp), ...load8(0), ...i32(0x30), ...sub, ...tee(dg), ...i32(10), ...geU, 0x0d, 1,
    ...get(into), ...i32(10), ...mul, ...get(dg), ...add, ...set(into),
    ...get(sp), ...i32(1), ...add, ...set(sp),
    0x0c, 0,
    0x0b, 0x0b,
  ]
  const pairs = (v: number, next: number) => [
    ...get(v), ...splat(FOLD), ...vor, ...set(a),
    ...get(i), ...vload(next), ...tee(nb), ...splat(FOLD), ...vor, ...set(b),
    ...get(a), ...splat(ch('m')), ...eq8,
    ...get(b), ...splat(ch('a')), ...eq8, ...get(b), ...splat(ch('m')), ...eq8, ...vor, ...get(b), ...splat(ch('d')), ...eq8, ...vor,
    ...vand,
    ...get(a), ...splat(ch('v')), ...eq8, ...get(b), ...splat(ch('t')), ...eq8, ...vand,
    ...vor,
  ]
  // dmesg -H flags after pairs(v, …) (b, nb: the next bytes, folded and raw), a bit per byte:
  // the byte before a "+" (folded: or a \v; narrowed by stampPrev below), and a "[" followed by
  // neither a digit nor a space (narrowed to line starts by the newline mask).
  const plusFlags = [...get(b), ...splat(ch('+')), ...eq8, ...bitmask]
  const anchorFlags = (v: number) => [
    ...get(v), ...splat(ch('[')), ...eq8,
    ...get(nb), ...splat(0x20), ...eq8, ...get(nb), ...splat(0x30), ...sub8, ...splat(10), ...ltU8, ...vor,
    ...vandnot, ...bitmask,
  ]
  // Whitespace, "[", or a byte >= 0x80 (and 0–8: a superset), a bit per byte of local `v`.
  const stampPrev = (v: number) => [...get(v), ...splat(0x0e), ...ltS8, ...get(v), ...splat(0x20), ...eq8, ...vor, ...get(v), ...splat(ch('[')), ...eq8, ...vor, ...bitmask]
  const digitAt = (offset: number) => [...get(by), ...load8(offset), ...i32(0x30), ...sub, ...i32(10), ...ltU]
  // A flagged byte at i + bit opens a dmesg -H stamp's line (1) or not (0), as RELATIVE_STAMP may take it.
  const stampConfirm = [
    ...get(i), ...get(bit), ...add, ...tee(t),
    ...load8(1), ...i32(ch('+')), ...eq,
    0x04, 0x7f, // if (result i32): a delta; back from its "+" over whitespace (not "\n") and bytes >= 0x80
    ...get(t), ...i32(1), ...add, ...set(t),
    0x02, 0x40, 0x03, 0x40,
    ...get(t), ...i32(1), ...sub, ...tee(t), ...load8(0), ...tee(by), ...i32(0x20), ...eq,
    ...get(by), ...i32(9), ...sub, ...i32(5), ...ltU, ...get(by), ...i32(10), ...neq, ...and, ...or,
    ...get(by), ...i32(0x80), ...geU, ...or,
    0x0d, 0,
    0x0b, 0x0b,
    ...get(t), ...load8(0), ...i32(ch('[')), ...eq,
    ...get(t), ...i32(1), ...sub, ...load8(0), ...i32(10), ...eq, ...and,
    0x05, // else: an anchor, "[" opening the line; its first "]" within 64 bytes ends " d dd:dd]"
    ...i32(0), ...set(r),
    0x02, 0x40,
    ...get(t), ...load8(0), ...i32(ch('[')), ...neq, ...get(t), ...i32(1), ...sub, ...load8(0), ...i32(10), ...neq, ...or, 0x0d, 0,
    ...get(t), ...i32(1), ...add, ...set(sb),
    0x02, 0x40, 0x03, 0x40,
    ...get(sb), ...get(end), ...geU, 0x0d, 1,
    ...get(sb), ...get(t), ...i32(64), ...add, ...geU,
    0x04, 0x40, ...i32(1), ...set(r), 0x0c, 2, 0x0b,
    ...get(sb), ...load8(0), ...tee(by), ...i32(ch(']')), ...eq,
    0x04, 0x40,
    ...get(sb), ...i32(7), ...sub, ...set(by),
    ...digitAt(0), ...get(by), ...load8(1), ...i32(0x20), ...eq, ...and, ...digitAt(2), ...and, ...digitAt(3), ...and,
    ...get(by), ...load8(4), ...i32(ch(':')), ...eq, ...and, ...digitAt(5), ...and, ...digitAt(6), ...and, ...set(r),
    0x0c, 2,
    0x0b,
    ...get(by), ...i32(10), ...eq, 0x0d, 1,
    ...get(sb), ...i32(1), ...add, ...set(sb),
    0x0c, 0,
    0x0b, 0x0b,
    0x0b,
    ...get(r),
    0x0b,
  ]
  const code = [
    ...get(start), ...set(i), ...get(start), ...set(lineStart), ...get(out), ...set(o),
    0x02, 0x40, 0x03, 0x40, // block $done, loop $L
    ...get(i), ...get(end), ...geU, 0x0d, 1,
    // 32 bytes a step: newline bits of both halves in one 32-bit mask, likewise the pair hits
    ...get(i), ...vload(0), ...tee(v0), ...splat(10), ...eq8, ...bitmask,
    ...get(i), ...vload(16), ...tee(v1), ...splat(10), ...eq8, ...bitmask, ...i32(16), ...shl, ...or, ...set(nm),
    ...pairs(v0, 1), ...set(c), ...plusFlags, ...set(s), ...anchorFlags(v0), ...set(t),
    ...pairs(v1, 17), ...set(c2), ...plusFlags, ...i32(16), ...shl, ...get(s), ...or, ...set(s),
    // anchors: at a line start (after a newline of this step, or at i when the line starts there)
    ...anchorFlags(v1), ...i32(16), ...shl, ...get(t), ...or,
    ...get(nm), ...i32(1), ...shl, ...get(lineStart), ...get(i), ...eq, ...or, ...and, ...set(t),
    // deltas: a "+" is rare, its byte before is tested only then
    ...get(s), 0x04, 0x40,
    ...get(s), ...stampPrev(v0), ...stampPrev(v1), ...i32(16), ...shl, ...or, ...and, ...set(s),
    0x0b,
    ...get(s), ...get(t), ...or, ...set(s),
    ...get(c), ...get(c2), ...vor, ...anyTrue, ...get(s), ...or,
    0x04, 0x40, // if
    ...get(s), ...get(c), ...bitmask, ...get(c2), ...bitmask, ...i32(16), ...shl, ...or, ...or, ...set(m),
    0x02, 0x40, 0x03, 0x40, // block $mdone, loop $M
    ...get(m), ...eqz, 0x0d, 1,
    ...get(m), ...ctz, ...set(bit),
    // a stamp flag's byte is never a keyword pair's first ("m", "v" folded): one test or the other
    ...get(s), ...get(bit), 0x76, ...i32(1), ...and, // i32.shr_u
    0x04, 0x7f, // if (result i32)
    ...stampConfirm,
    0x05,
    ...get(i), ...get(bit), ...add, ...i32(2), ...sub, ...set(q),
    ...get(q), ...load(1), ...fold, ...tee(w), ...word('dmar'), ...eq, ...get(w), ...word('ommu'), ...eq, ...or, ...get(w), ...word('smmu'), ...eq, ...or,
    ...get(q), ...load(0), ...fold, ...tee(w), ...word('rema'), ...eq, ...or, ...get(w), ...word('-dma'), ...eq, ...or, ...get(w), ...word('doma'), ...eq, ...or,
    ...get(q), ...load(2), ...fold, ...tee(w), ...word('md-v'), ...eq, ...or, ...get(w), ...word('vt-d'), ...eq, ...or,
    // context lines without an IOMMU keyword: the vmd driver's ("vmd 0000:…"), the kernel command line,
    // CONFIG_DMA_API_DEBUG's warnings ("DMA-API: …")
    ...get(q), ...load(1), ...fold, ...tee(w), ...word('vmd '), ...eq, ...or, ...get(w), ...word('omma'), ...eq, ...or, ...get(w), ...word('dma-'), ...eq, ...or,
    0x0b, // end if stamp flag
    0x04, 0x40, // if hit
    ...get(nm), ...i32(1), ...get(bit), ...shl, ...i32(1), ...sub, ...and, ...tee(before),
    0x04, 0x7f, ...get(i), ...i32(32), ...add, ...get(before), ...clz, ...sub, 0x05, ...get(lineStart), 0x0b,
    ...set(ls),
    ...get(nl), ...get(before), ...popcnt, ...add, ...set(ln),
    // body start: after the first "]" (and one space) when the line starts with "[", else the line start
    ...get(ls), ...set(bs),
    ...get(ls), ...load8(0), ...i32(ch('[')), ...eq,
    0x04, 0x40,
    ...get(ls), ...i32(1), ...add, ...set(k),
    0x02, 0x40, 0x03, 0x40,
    ...get(k), ...get(ls), ...i32(40), ...add, ...geU, 0x0d, 1,
    ...get(k), ...get(end), ...geU, 0x0d, 1,
    ...get(k), ...load8(0), ...tee(h), ...i32(ch(']')), ...eq,
    0x04, 0x40, ...get(k), ...i32(1), ...add, ...get(k), ...load8(1), ...i32(32), ...eq, ...add, ...set(bs), 0x0c, 2, 0x0b,
    ...get(h), ...i32(10), ...eq, 0x0d, 1,
    ...get(k), ...i32(1), ...add, ...set(k),
    0x0c, 0,
    0x0b, 0x0b,
    0x0b,
    // a monotonic stamp "[" spaces digits "." digits "]" before that body: its parts (STAMP_* below)
    ...i32(0), ...set(sh),
    ...get(bs), ...get(ls), ...gtU,
    0x04, 0x40,
    ...get(ls), ...i32(1), ...add, ...set(sp),
    0x02, 0x40, 0x03, 0x40,
    ...get(sp), ...load8(0), ...i32(32), ...neq, 0x0d, 1,
    ...get(sp), ...i32(1), ...add, ...set(sp),
    0x0c, 0,
    0x0b, 0x0b,
    ...get(sp), ...set(ds),
    ...digitsInto(ip),
    ...get(sp), ...get(ds), ...gtU, ...get(sp), ...load8(0), ...i32(ch('.')), ...eq, ...and,
    0x04, 0x40,
    ...get(sp), ...i32(1), ...add, ...tee(sp), ...set(fs),
    ...digitsInto(fp),
    ...get(sp), ...get(fs), ...gtU, ...get(sp), ...load8(0), ...i32(ch(']')), ...eq, ...and,
    0x04, 0x40,
    ...get(ds), ...get(ls), ...sub,
    ...get(fs), ...i32(1), ...sub, ...get(ds), ...sub, ...i32(8), ...shl, ...or,
    ...get(sp), ...get(fs), ...sub, ...i32(16), ...shl, ...or,
    ...i32(STAMP_FOUND), ...or, ...set(sh),
    0x0b,
    0x0b,
    0x0b,
    // line end: the first "\n" from the body start, 16 bytes a step; the block end when none
    ...get(bs), ...set(k),
    0x02, 0x40, 0x03, 0x40,
    ...get(k), ...get(end), ...geU, 0x0d, 1,
    ...get(k), ...vload(0), ...splat(10), ...eq8, ...bitmask, ...tee(q),
    0x04, 0x40, ...get(k), ...get(q), ...ctz, ...add, ...set(k), 0x0c, 2, 0x0b,
    ...get(k), ...i32(16), ...add, ...set(k),
    0x0c, 0,
    0x0b, 0x0b,
    ...get(k), ...get(end), ...get(k), ...get(end), ...ltU, 0x1b, ...set(k), // select: min(k, end)
    // FNV-1a-style hash of the body: 16 bytes a step in four lanes while 16 remain (four
    // multiplications in flight, not one), the lanes folded in, then 4 bytes a step and the 0–3 left (masked)
    ...i32(-2128831035), ...set(h), ...get(bs), ...set(q),
    ...get(h), ...i32x4Splat, ...set(hv),
    0x02, 0x40, 0x03, 0x40,
    ...get(q), ...i32(16), ...add, ...get(k), ...gtU, 0x0d, 1,
    ...get(hv), ...get(q), ...vload(0), ...vxor, ...i32(16777619), ...i32x4Splat, ...i32x4Mul, ...set(hv),
    ...get(q), ...i32(16), ...add, ...set(q),
    0x0c, 0,
    0x0b, 0x0b,
    ...[0, 1, 2, 3].flatMap((lane) => [...get(h), ...get(hv), ...simd(0x1b), lane, ...xor, ...i32(16777619), ...mul, ...set(h)]),
    0x02, 0x40, 0x03, 0x40,
    ...get(q), ...i32(4), ...add, ...get(k), ...gtU, 0x0d, 1,
    ...get(h), ...get(q), ...load(0), ...xor, ...i32(16777619), ...mul, ...set(h),
    ...get(q), ...i32(4), ...add, ...set(q),
    0x0c, 0,
    0x0b, 0x0b,
    ...get(q), ...get(k), ...ltU,
    0x04, 0x40,
    ...get(h), ...get(q), ...load(0), ...i32(1), ...get(k), ...get(q), ...sub, ...i32(3), ...shl, ...shl, ...i32(1), ...sub, ...and, ...xor, ...i32(16777619), ...mul, ...set(h),
    0x0b,
    ...get(o), ...get(ls), ...get(start), ...sub, ...store(0),
    ...get(o), ...get(ln), ...store(4),
    ...get(o), ...get(bs), ...get(start), ...sub, ...store(8),
    ...get(o), ...get(k), ...get(start), ...sub, ...store(12),
    ...get(o), ...get(h), ...store(16),
    ...get(o), ...get(sh), ...store(20),
    ...get(o), ...get(ip), ...store(24),
    ...get(o), ...get(fp), ...store(28),
    ...get(o), ...i32(HIT_BYTES), ...add, ...set(o),
    // go on after the line: its other hits and its bytes need no second look
    ...get(k), ...get(end), ...ltU,
    0x04, 0x40,
    ...get(ln), ...i32(1), ...add, ...set(nl), ...get(k), ...i32(1), ...add, ...tee(i), ...set(lineStart),
    0x05,
    ...get(ln), ...set(nl), ...get(end), ...set(i),
    0x0b,
    0x0c, 4, // br $L
    0x0b, // end if hit
    ...get(m), ...get(m), ...i32(1), ...sub, ...and, ...set(m),
    0x0c, 0, // br $M
    0x0b, 0x0b, // end loop $M, block $mdone
    0x0b, // end if any
    ...get(nm), 0x04, 0x40,
    ...get(nl), ...get(nm), ...popcnt, ...add, ...set(nl),
    ...get(i), ...i32(32), ...add, ...get(nm), ...clz, ...sub, ...set(lineStart),
    0x0b,
    ...get(i), ...i32(32), ...add, ...set(i),
    0x0c, 0, // br $L
    0x0b, 0x0b, // end loop $L, block $done
    ...i32(0), ...get(nl), ...store(0),
    ...get(o), ...get(out), ...sub, ...i32(HIT_BYTES), 0x6e, // i32.div_u: hits written
    0x0b,
  ]
  const constants = [...splatLocals].flatMap(([byte, local]) => [...simd(0x0c), ...Array.from({length: 16}, () => byte), ...set(local)])
  // local groups: 15 × i32, 6 × v128, 7 × i32, 1 × v128, 5 × i32, 1 × v128, then the splatted constants (v128)
  const body = [7, 15, 0x7f, 6, 0x7b, 7, 0x7f, 1, 0x7b, 5, 0x7f, 1, 0x7b, ...uleb(splatLocals.size), 0x7b, ...constants, ...code]

  // same(x, y, length) -> 1 when memory [x, x + length) equals [y, y + length): 16 bytes a step, then byte by byte.
  const x = 0, y = 1, length = 2, j = 3
  const [allTrue, ne] = [simd(0x63), [0x47]]
  const sameCode = [
    ...i32(0), ...set(j),
    0x02, 0x40, // block $differ
    0x02, 0x40, 0x03, 0x40, // block $tail, loop
    ...get(j), ...i32(16), ...add, ...get(length), ...gtU, 0x0d, 1,
    ...get(x), ...get(j), ...add, ...vload(0), ...get(y), ...get(j), ...add, ...vload(0), ...eq8, ...allTrue, ...eqz, 0x0d, 2,
    ...get(j), ...i32(16), ...add, ...set(j),
    0x0c, 0,
    0x0b, 0x0b,
    0x02, 0x40, 0x03, 0x40, // block $equal, loop
    ...get(j), ...get(length), ...geU, 0x0d, 1,
    ...get(x), ...get(j), ...add, ...load8(0), ...get(y), ...get(j), ...add, ...load8(0), ...ne, 0x0d, 2,
    ...get(j), ...i32(1), ...add, ...set(j),
    0x0c, 0,
    0x0b, 0x0b,
    ...i32(1), 0x0f, // return 1
    0x0b, // end $differ
    ...i32(0),
    0x0b,
  ]
  const sameBody = [1, 1, 0x7f, ...sameCode] // one local i32
  const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes]
  const name = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'latin1')]
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 3, 0x7f, 0x7f, 0x7f, 1, 0x7f]),
    ...section(2, [1, ...name('e'), ...name('m'), 0x02, 0x00, 1]),
    ...section(3, [2, 0, 0]),
    ...section(7, [2, ...name('scan'), 0x00, 0, ...name('same'), 0x00, 1]),
    ...section(10, [2, ...uleb(body.length), ...body, ...uleb(sameBody.length), ...sameBody]),
  ])
}

/** The slice of the WebAssembly API used here (the project's TypeScript libs do not declare it). */
interface WasmMemory {
  buffer: ArrayBuffer
  grow(pages: number): number
}
interface WasmApi {
  Memory: new (descriptor: {initial: number}) => WasmMemory
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => {exports: Record<string, unknown>}
}
const Wasm = (globalThis as unknown as {WebAssembly?: WasmApi}).WebAssembly

export interface ScanResult {
  /**
   * Per hit line, HIT_INTS int32: line start, newlines before it (both block-relative), body
   * start (after a leading "[…]" and one space, else the line start), line end (its "\n" or the
   * block end), the FNV-1a hash of the body bytes, the stamp word (STAMP_FOUND), and the stamp's
   * integer and fraction digits as numbers (wrapped past 9 digits). `count` lines.
   */
  hits: Int32Array
  count: number
  newlines: number
}

let compiled: object | undefined

/** Where a reader's buffers lie in the scanner's memory (ByteScanner.readBuffers). */
interface Lent {
  size: number
  /** The two buffers' first bytes; each has 64 bytes of its own before and after it. */
  first: number
  second: number
  /** Where in-place scans write their hits: room for a whole buffer's worth. */
  hitsAt: number
  buffers: [Buffer, Buffer]
}

export class ByteScanner {
  private readonly memory: WasmMemory
  private readonly scanFn: (start: number, end: number, out: number) => number
  private readonly sameFn: (x: number, y: number, length: number) => number
  private arenaTop = ARENA_AT
  /** Where the block last scanned starts in memory (SCAN_DATA, or in a lent buffer). */
  private base = SCAN_DATA
  private lent: Lent | undefined

  constructor(wasm: WasmApi) {
    this.memory = new wasm.Memory({initial: 1})
    compiled ??= new wasm.Module(scannerModule())
    const instance = new wasm.Instance(compiled, {e: {m: this.memory}})
    this.scanFn = instance.exports['scan'] as (start: number, end: number, out: number) => number
    this.sameFn = instance.exports['same'] as (x: number, y: number, length: number) => number
  }

  /**
   * Two buffers of `size` bytes in the scanner's own memory, for a reader to read blocks into: a
   * block handed to `scan` that lies in one of them is scanned where it is, without the copy.
   * The memory never grows after this (growing would detach the buffers): a copied block that
   * no longer fits makes `scan` return undefined. The same two buffers on every call.
   */
  readBuffers(size: number): [Buffer, Buffer] {
    if (this.lent !== undefined) {
      if (this.lent.size !== size) throw new Error(`the scanner's read buffers are ${this.lent.size} bytes, not ${size}`)
      return this.lent.buffers
    }
    const first = SCAN_DATA + COPY_REGION + 64
    const second = first + size + 128
    const hitsAt = (second + size + SCAN_PAD + 7) & ~7
    this.ensure(hitsAt + HIT_BYTES * (Math.floor(size / 3) + 2))
    const buffers: [Buffer, Buffer] = [Buffer.from(this.memory.buffer, first, size), Buffer.from(this.memory.buffer, second, size)]
    this.lent = {size, first, second, hitsAt, buffers}
    return buffers
  }

  /** Grows the memory to `bytes`; false when it would have to grow with buffers lent. */
  private ensure(bytes: number): boolean {
    const have = this.memory.buffer.byteLength
    if (bytes <= have) return true
    if (this.lent !== undefined) return false
    this.memory.grow(Math.ceil((bytes - have) / 65536))
    return true
  }

  /**
   * Keeps bytes [from, to) of the block last scanned (block-relative, as the hits), for `same`.
   * Returns where, or -1 when the arena is full (the caller compares another way); `forget` empties it.
   */
  keep(from: number, to: number): number {
    const at = this.arenaTop
    if (at + (to - from) > ARENA_END) return -1
    new Uint8Array(this.memory.buffer).copyWithin(at, this.base + from, this.base + to)
    this.arenaTop = at + (to - from)
    return at
  }

  /** The bytes kept at `at` equal bytes [from, from + length) of the block last scanned. */
  same(at: number, from: number, length: number): boolean {
    return this.sameFn(at, this.base + from, length) === 1
  }

  forget(): void {
    this.arenaTop = ARENA_AT
  }

  /** The block's hit lines, or undefined when it is not in a lent buffer and no longer fits beside them. */
  scan(bytes: Uint8Array): ScanResult | undefined {
    const n = bytes.length
    const lent = this.lent
    if (lent !== undefined && bytes.buffer === this.memory.buffer) {
      const at = bytes.byteOffset
      if ((at >= lent.first && at + n <= lent.first + lent.size) || (at >= lent.second && at + n <= lent.second + lent.size)) return this.scanInPlace(at, n, lent.hitsAt)
    }
    const outAt = (SCAN_DATA + n + SCAN_PAD + 7) & ~7
    // A hit line holds at least 2 bytes ("[+", a dmesg -H delta's opening) and a newline (but the
    // last): at most n / 3 + 1 lines.
    const need = outAt + HIT_BYTES * (Math.floor(n / 3) + 2)
    if (!this.ensure(need) || (lent !== undefined && need > SCAN_DATA + COPY_REGION)) return undefined
    const mem = new Uint8Array(this.memory.buffer)
    mem[SCAN_DATA - 1] = 10
    mem.set(bytes, SCAN_DATA)
    mem.fill(0, SCAN_DATA + n, SCAN_DATA + n + SCAN_PAD)
    this.base = SCAN_DATA
    const count = this.scanFn(SCAN_DATA, SCAN_DATA + n, outAt)
    return {hits: new Int32Array(this.memory.buffer, outAt, count * HIT_INTS), count, newlines: new Int32Array(this.memory.buffer, 0, 1)[0]!}
  }

  /**
   * A block in a lent buffer, scanned where it lies: what the copy would give it around it for
   * the scan's reads past its ends (a "\n" before it, zeros after it), then the bytes put back.
   */
  private scanInPlace(at: number, n: number, outAt: number): ScanResult {
    const mem = new Uint8Array(this.memory.buffer)
    const before = mem[at - 1]!
    mem.copyWithin(SAVE_AT, at + n, at + n + SCAN_PAD)
    mem[at - 1] = 10
    mem.fill(0, at + n, at + n + SCAN_PAD)
    this.base = at
    const count = this.scanFn(at, at + n, outAt)
    mem.copyWithin(at + n, SAVE_AT, SAVE_AT + SCAN_PAD)
    mem[at - 1] = before
    return {hits: new Int32Array(this.memory.buffer, outAt, count * HIT_INTS), count, newlines: new Int32Array(this.memory.buffer, 0, 1)[0]!}
  }
}

/**
 * The 0-based indexes of the lines the byte scanner reports in `bytes` (for tests: every line
 * CANDIDATE matches must be among them), or undefined without WebAssembly SIMD.
 */
export function scannedLines(bytes: Uint8Array): number[] | undefined {
  const scanner = byteScanner()
  if (scanner === null) return undefined
  const {hits, count} = scanner.scan(bytes)!
  return Array.from({length: count}, (_, k) => hits[HIT_INTS * k + 1]!)
}

/**
 * A scanner of one's own (its arena holds one parser's cache), or null where WebAssembly SIMD is
 * unavailable.
 */
export function newByteScanner(): ByteScanner | null {
  if (byteScanner() === null) return null
  return new ByteScanner(Wasm!)
}

let scannerState: ByteScanner | null | undefined
/** The shared scanner, or null where WebAssembly SIMD is unavailable (the regex scan is used). */
export function byteScanner(): ByteScanner | null {
  if (scannerState === undefined) {
    try {
      scannerState = Wasm === undefined ? null : new ByteScanner(Wasm)
    } catch {
      scannerState = null
    }
  }
  return scannerState
}
