/** Small readers for sysfs's own formats ("0x8086\n", "-1\n", "8.0 GT/s PCIe\n"). */
import type {HostFs, Read} from '../host/fs.js'
import type {Miss} from './types.js'

export function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}

/** Trimmed text, or undefined; unreadable files are recorded in `misses`. */
export function readTrimmed(fs: HostFs, path: string, misses: Miss[]): string | undefined {
  return note(fs.readText(path), misses)?.trim()
}

export function readInt(fs: HostFs, path: string, misses: Miss[], radix = 0): number | undefined {
  return intOf(readTrimmed(fs, path, misses), radix)
}

/** A sysfs number ("0x8086", "16", "-1"; radix 16 for ids printed without 0x). */
export function intOf(text: string | undefined, radix = 0): number | undefined {
  if (text === undefined || text === '') return undefined
  const value = radix === 0 ? Number(text) : Number.parseInt(text, radix)
  return Number.isFinite(value) ? value : undefined
}

/** sysfs prints registers as %llx without 0x. */
export function readHex64(fs: HostFs, path: string, misses: Miss[]): bigint | undefined {
  const text = readTrimmed(fs, path, misses)
  if (text === undefined || !/^(0x)?[0-9a-f]+$/i.test(text)) return undefined
  return BigInt(text.startsWith('0x') ? text : `0x${text}`)
}

/** The basename of a link's target ("../../../bus/pci/drivers/nvme" → "nvme"). */
export function readLinkName(fs: HostFs, path: string, misses: Miss[]): string | undefined {
  const link = note(fs.readLink(path), misses)
  return link === undefined ? undefined : basename(link)
}

/** Paths already in each misses list: a path is recorded once, however often it is read. */
const recorded = new WeakMap<Miss[], Set<string>>()

/** Keep an unreadable read's reason (once per path); an absent file is just absent. */
export function note<T>(read: Read<T>, misses: Miss[]): T | undefined {
  if (read.ok) return read.value
  if (read.reason === 'unreadable') {
    let paths = recorded.get(misses)
    if (paths === undefined) recorded.set(misses, (paths = new Set(misses.map((m) => m.path))))
    if (!paths.has(read.path)) {
      paths.add(read.path)
      misses.push({path: read.path, reason: read.reason, message: read.message, ...(read.refused === undefined ? {} : {refused: read.refused})})
    }
  }
  return undefined
}
