/**
 * Logs saved on Windows or by some editors are UTF-16 or UTF-32, mostly with a byte-order mark;
 * read as UTF-8 they look like "no faults". The BOM says which (UTF-16 without one is told by its
 * zero bytes); everything becomes UTF-8 bytes here so
 * the line scanners downstream stay byte-oriented.
 */

import {TextDecoder} from 'node:util'

export type LogEncoding = 'utf8' | 'utf16le' | 'utf16be' | 'utf32le' | 'utf32be'

/**
 * The encoding a BOM names and the BOM's length; without a BOM, UTF-16 told by its zero bytes,
 * else UTF-8 (length 0). Needs the first 4 bytes when there are 4.
 */
export function detectBom(head: Uint8Array): {encoding: LogEncoding; bomLength: number} {
  const [a, b, c, d] = [head[0], head[1], head[2], head[3]]
  if (a === 0xff && b === 0xfe && c === 0 && d === 0) return {encoding: 'utf32le', bomLength: 4}
  if (a === 0 && b === 0 && c === 0xfe && d === 0xff) return {encoding: 'utf32be', bomLength: 4}
  if (a === 0xff && b === 0xfe) return {encoding: 'utf16le', bomLength: 2}
  if (a === 0xfe && b === 0xff) return {encoding: 'utf16be', bomLength: 2}
  if (a === 0xef && b === 0xbb && c === 0xbf) return {encoding: 'utf8', bomLength: 3}
  // No BOM (e.g. .NET's Encoding.Unicode without a preamble, some editors): UTF-16 text of ASCII
  // characters has a zero in every other byte ("[\0 \0"), which a UTF-8 log never has.
  if (d !== undefined && a !== 0 && b === 0 && c !== 0 && d === 0) return {encoding: 'utf16le', bomLength: 0}
  if (d !== undefined && a === 0 && b !== 0 && c === 0 && d !== 0) return {encoding: 'utf16be', bomLength: 0}
  return {encoding: 'utf8', bomLength: 0}
}

/** Streaming UTF-16/32 -> UTF-8 bytes; code units split across chunks are carried over. */
export class ToUtf8 {
  private carry = new Uint8Array(0)
  private readonly utf16?: TextDecoder

  constructor(private readonly encoding: Exclude<LogEncoding, 'utf8'>) {
    if (encoding === 'utf16le' || encoding === 'utf16be') this.utf16 = new TextDecoder(encoding === 'utf16le' ? 'utf-16le' : 'utf-16be')
  }

  write(chunk: Uint8Array): Buffer {
    if (this.utf16) return Buffer.from(this.utf16.decode(chunk, {stream: true}), 'utf8')
    const data = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk])
    const whole = data.length - (data.length % 4)
    this.carry = Uint8Array.from(data.subarray(whole))
    return Buffer.from(decodeUtf32(data.subarray(0, whole), this.encoding === 'utf32le'), 'utf8')
  }

  end(): Buffer {
    if (this.utf16) return Buffer.from(this.utf16.decode(), 'utf8')
    return Buffer.from(this.carry.length > 0 ? '\ufffd' : '', 'utf8')
  }
}

function decodeUtf32(bytes: Uint8Array, littleEndian: boolean): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
  const parts: string[] = []
  let run: number[] = []
  for (let i = 0; i + 4 <= bytes.length; i += 4) {
    const cp = view.getUint32(i, littleEndian)
    run.push(cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? cp : 0xfffd)
    if (run.length === 4096) {
      parts.push(String.fromCodePoint(...run))
      run = []
    }
  }
  if (run.length > 0) parts.push(String.fromCodePoint(...run))
  return parts.join('')
}

/** A whole log's bytes as text, honouring a BOM. */
export function decodeLogText(bytes: Uint8Array): string {
  const {encoding, bomLength} = detectBom(bytes)
  const body = bytes.subarray(bomLength)
  if (encoding === 'utf8') return Buffer.from(body.buffer, body.byteOffset, body.length).toString('utf8')
  const decoder = new ToUtf8(encoding)
  return Buffer.concat([decoder.write(body), decoder.end()]).toString('utf8')
}

/**
 * The first bytes of a log look like binary data rather than text: more than one in ten is a
 * control byte other than tab, newline, carriage return, form feed and escape (colours). A crash's
 * run of NUL bytes in a syslog file sits between lines, so only a file that opens with one, and
 * has little text, is told binary. Decides nothing but the outcome of a log without faults.
 */
export function looksBinary(head: Uint8Array): boolean {
  const n = Math.min(head.length, 4096)
  if (n === 0) return false
  let control = 0
  for (let i = 0; i < n; i++) {
    const b = head[i]!
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x1b) control++
    else if (b === 0x7f) control++
  }
  return control * 10 > n
}
