/**
 * Vendor, device and class names. The system's `pci.ids` (the file lspci uses) when present,
 * read through HostFs and parsed once on first lookup; otherwise a small bundled table of the
 * vendors and devices this tool talks about, so messages still say "Intel" and "NVIDIA".
 */
import type {HostFs} from '../host/fs.js'

export const PCI_IDS_PATHS = ['/usr/share/misc/pci.ids', '/usr/share/hwdata/pci.ids', '/usr/share/pci.ids', '/usr/local/share/pci.ids'] as const

export interface PciNames {
  /** Where names come from: a host path, or "bundled". */
  readonly source: string
  vendor(vendorId: number): string | undefined
  device(vendorId: number, deviceId: number): string | undefined
  /** Most specific class name known: prog-if, then subclass, then base class. */
  className(classCode: number): string | undefined
}

interface Tables {
  vendors: ReadonlyMap<number, string>
  classes: ReadonlyMap<number, string>
  /** A vendor's devices by device id (empty for a vendor without device lines). */
  devicesOf(vendorId: number): ReadonlyMap<number, string>
}

/** Classes keyed by level: base 0xBB, subclass 0xBBSS, prog-if 0xBBSSPP (stored with level tag). */
const classKey = (level: 1 | 2 | 3, value: number): number => level * 0x1000000 + value

const TAB = 0x09
const HASH = 0x23
const NEWLINE = 0x0a
const NO_DEVICES: ReadonlyMap<number, string> = new Map()

/**
 * Parse pci.ids text. Tolerant: lines that do not fit the format are skipped.
 *
 * One pass over the lines keeps the vendor and class names and, for each vendor, where its device
 * lines are in the text; a vendor's device lines are parsed when its devices are first asked for.
 * A host names a few dozen of the file's 2,300 vendors, and parsing all of its 17,000 device lines
 * was most of the cost of naming them (lspci reads the whole file too). The answers are the same:
 * a device line belongs to the vendor line above it, a later line for the same ids wins.
 */
export function parsePciIds(text: string): Tables {
  const vendors = new Map<number, string>()
  const classes = new Map<number, string>()
  /** Vendor -> [start, end) offsets of its blocks of device lines, in text order. */
  const blocks = new Map<number, number[]>()
  let vendor: number | undefined
  let blockStart = 0
  let baseClass: number | undefined
  let subClass: number | undefined
  const endBlock = (end: number) => {
    if (vendor === undefined || end <= blockStart) return
    const ranges = blocks.get(vendor)
    if (ranges === undefined) blocks.set(vendor, [blockStart, end])
    else ranges.push(blockStart, end)
  }
  const visit = (start: number, end: number): void => {
    if (text.charCodeAt(start) === TAB) {
      // Device lines (one tab, under a vendor) wait in their vendor's block; subsystem lines are not needed.
      if (text.charCodeAt(start + 1) === TAB) {
        if (baseClass !== undefined && subClass !== undefined) {
          const match = /^\t\t([0-9a-f]{2})\s+(.*)$/i.exec(text.slice(start, end))
          if (match) classes.set(classKey(3, (baseClass << 16) | (subClass << 8) | Number.parseInt(match[1] ?? '', 16)), (match[2] ?? '').trim())
        }
      } else if (vendor === undefined && baseClass !== undefined) {
        const match = /^\t([0-9a-f]{2})\s+(.*)$/i.exec(text.slice(start, end))
        if (match) {
          subClass = Number.parseInt(match[1] ?? '', 16)
          classes.set(classKey(2, (baseClass << 8) | subClass), (match[2] ?? '').trim())
        }
      }
      return
    }
    // Any other line ends the current vendor's block.
    endBlock(start)
    const line = text.slice(start, end)
    if (line.startsWith('C ')) {
      const match = /^C ([0-9a-f]{2})\s+(.*)$/i.exec(line)
      vendor = undefined
      if (!match) return
      baseClass = Number.parseInt(match[1] ?? '', 16)
      subClass = undefined
      classes.set(classKey(1, baseClass), (match[2] ?? '').trim())
      return
    }
    const match = /^([0-9a-f]{4})\s+(.*)$/i.exec(line)
    if (match) {
      vendor = Number.parseInt(match[1] ?? '', 16)
      blockStart = end + 1
      baseClass = undefined
      vendors.set(vendor, (match[2] ?? '').trim())
    } else {
      vendor = undefined
    }
  }
  for (let start = 0; start < text.length; ) {
    // Inside a vendor's block only the next line that is not a device, subsystem, blank or '#'
    // line changes anything: found by one regex scan instead of a visit per line.
    if (vendor !== undefined && !startsTopLevel(text, start)) {
      NEXT_TOP_LEVEL_LINE.lastIndex = start
      const next = NEXT_TOP_LEVEL_LINE.exec(text)
      if (next === null) break
      start = next.index + 1
    }
    let end = text.indexOf('\n', start)
    if (end < 0) end = text.length
    if (end > start && text.charCodeAt(start) !== HASH) visit(start, end)
    start = end + 1
  }
  endBlock(text.length)
  const devices = new Map<number, ReadonlyMap<number, string>>()
  return {
    vendors,
    classes,
    devicesOf: (vendorId) => {
      let found = devices.get(vendorId)
      if (found === undefined) {
        const parsed = new Map<number, string>()
        const ranges = blocks.get(vendorId) ?? []
        for (let i = 0; i + 1 < ranges.length; i += 2) {
          const to = ranges[i + 1] ?? 0
          // A block starts after the newline of its vendor line: each device line is found by a
          // regex scan from there (subsystem, blank and '#' lines are skipped by it, not visited).
          DEVICE_LINE.lastIndex = (ranges[i] ?? 0) - 1
          for (let found = DEVICE_LINE.exec(text); found !== null && found.index + 1 < to; found = DEVICE_LINE.exec(text)) {
            const start = found.index + 1
            let end = text.indexOf('\n', start)
            if (end < 0 || end > to) end = to
            const match = /^\t([0-9a-f]{4})\s+(.*)$/i.exec(text.slice(start, end))
            if (match) parsed.set(Number.parseInt(match[1] ?? '', 16), (match[2] ?? '').trim())
            DEVICE_LINE.lastIndex = end
          }
        }
        found = parsed.size === 0 ? NO_DEVICES : parsed
        devices.set(vendorId, found)
      }
      return found
    },
  }
}

/** A newline and the first character of a line that starts with neither a tab, nor a newline (blank), nor '#'. */
const NEXT_TOP_LEVEL_LINE = /\n[^\t\n#]/g

/** Does the line at `start` start with neither a tab, nor a newline (blank), nor '#'? */
function startsTopLevel(text: string, start: number): boolean {
  const first = text.charCodeAt(start)
  return first !== TAB && first !== NEWLINE && first !== HASH
}

/** A newline and a tab not followed by another: the start of a device line (two tabs: a subsystem line). */
const DEVICE_LINE = /\n\t(?!\t)/g

/** The bundled fallback: vendors and devices that show up in VT-d passthrough questions. */
const BUNDLED_VENDORS: ReadonlyArray<readonly [number, string]> = [
  [0x8086, 'Intel Corporation'],
  [0x1022, 'Advanced Micro Devices, Inc. [AMD]'],
  [0x1002, 'Advanced Micro Devices, Inc. [AMD/ATI]'],
  [0x10de, 'NVIDIA Corporation'],
  [0x144d, 'Samsung Electronics Co Ltd'],
  [0x15b3, 'Mellanox Technologies'],
  [0x14e4, 'Broadcom Inc. and subsidiaries'],
  [0x1b21, 'ASMedia Technology Inc.'],
  [0x10b5, 'PLX Technology, Inc.'],
  [0x1b4b, 'Marvell Technology Group Ltd.'],
  [0x10ec, 'Realtek Semiconductor Co., Ltd.'],
  [0x1af4, 'Red Hat, Inc. (virtio)'],
  [0x1b36, 'Red Hat, Inc.'],
  [0x1234, 'QEMU'],
  [0x17cb, 'Qualcomm Technologies, Inc'],
  [0x1924, 'Solarflare Communications'],
  [0x19a2, 'Emulex Corporation'],
  [0x1d17, 'Zhaoxin'],
  [0x1d0f, 'Amazon.com, Inc.'],
  [0x1c5c, 'SK hynix'],
  [0x17aa, 'Lenovo'],
  [0x1028, 'Dell'],
  [0x1043, 'ASUSTeK Computer Inc.'],
  [0x1180, 'Ricoh Co Ltd'],
  [0x197b, 'JMicron Technology Corp.'],
  [0x1912, 'Renesas Technology Corp.'],
  [0x17a0, 'Genesys Logic, Inc'],
  [0x1014, 'International Business Machines Corp.'],
]

const BUNDLED_DEVICES: ReadonlyArray<readonly [number, number, string]> = [
  [0x8086, 0x10c9, '82576 Gigabit Network Connection'],
  [0x8086, 0x10ca, '82576 Virtual Function'],
  [0x8086, 0x0b25, 'Data Streaming Accelerator (DSA)'],
  [0x8086, 0x1521, 'I350 Gigabit Network Connection'],
  [0x8086, 0x1520, 'I350 Ethernet Controller Virtual Function'],
  [0x8086, 0x10fb, '82599ES 10-Gigabit SFI/SFP+ Network Connection'],
  [0x8086, 0x1572, 'Ethernet Controller X710 for 10GbE SFP+'],
  [0x8086, 0x1533, 'I210 Gigabit Network Connection'],
  [0x8086, 0x1539, 'I211 Gigabit Network Connection'],
  [0x8086, 0x2f02, 'Xeon E7 v3/Xeon E5 v3/Core i7 PCI Express Root Port 1'],
  [0x8086, 0x8d18, 'C610/X99 series chipset PCI Express Root Port #5'],
  [0x8086, 0x467f, 'Volume Management Device NVMe RAID Controller'],
  [0x8086, 0x9a0b, 'Volume Management Device NVMe RAID Controller'],
  [0x1234, 0x11e8, 'educational device (edu)'],
  [0x1b36, 0x000c, 'QEMU PCIe Root port'],
  [0x1b36, 0x000e, 'QEMU PCIe-to-PCI bridge'],
  [0x1b36, 0x0010, 'QEMU NVM Express Controller'],
  [0x8086, 0x29c0, '82G33/G31/P35/P31 Express DRAM Controller'],
  [0x8086, 0x2918, '82801IB (ICH9) LPC Interface Controller'],
  [0x8086, 0x3420, '7500/5520/5500/X58 I/O Hub PCI Express Root Port 0'],
  [0x10b5, 0x8725, 'PEX 8725 24-Lane, 10-Port PCI Express Gen 3 (8.0 GT/s) Multi-Root Switch with DMA'],
  [0x10b5, 0x8748, 'PEX 8748 48-Lane, 12-Port PCI Express Gen 3 (8 GT/s) Switch, 27 x 27mm FCBGA'],
  [0x1b21, 0x1080, 'ASM1083/1085 PCIe to PCI Bridge'],
  [0x1b21, 0x1812, 'ASM1812 6-Port PCIe x4 Gen2 Packet Switch'],
  [0x17a0, 0x9755, 'GL9755 SD Host Controller'],
]

/** Base classes and the subclasses that matter here (class codes table in vtd-reference App. A). */
const BUNDLED_CLASSES: ReadonlyArray<readonly [1 | 2 | 3, number, string]> = [
  [1, 0x00, 'Unclassified device'],
  [1, 0x01, 'Mass storage controller'],
  [2, 0x0106, 'SATA controller'],
  [2, 0x0108, 'Non-Volatile memory controller'],
  [3, 0x010802, 'NVM Express'],
  [1, 0x02, 'Network controller'],
  [2, 0x0200, 'Ethernet controller'],
  [2, 0x0280, 'Network controller'],
  [1, 0x03, 'Display controller'],
  [2, 0x0300, 'VGA compatible controller'],
  [2, 0x0302, '3D controller'],
  [1, 0x04, 'Multimedia controller'],
  [2, 0x0403, 'Audio device'],
  [1, 0x05, 'Memory controller'],
  [1, 0x06, 'Bridge'],
  [2, 0x0600, 'Host bridge'],
  [2, 0x0601, 'ISA bridge'],
  [2, 0x0604, 'PCI bridge'],
  [2, 0x0607, 'CardBus bridge'],
  [2, 0x0680, 'Bridge'],
  [1, 0x07, 'Communication controller'],
  [1, 0x08, 'Generic system peripheral'],
  [2, 0x0805, 'SD Host controller'],
  [1, 0x09, 'Input device controller'],
  [1, 0x0c, 'Serial bus controller'],
  [2, 0x0c03, 'USB controller'],
  [3, 0x0c0330, 'XHCI'],
  [2, 0x0c05, 'SMBus'],
  [1, 0x0d, 'Wireless controller'],
  [1, 0x10, 'Encryption controller'],
  [1, 0x11, 'Signal processing controller'],
  [1, 0x12, 'Processing accelerators'],
  [1, 0x13, 'Non-Essential Instrumentation'],
  [1, 0xff, 'Unassigned class'],
]

function bundledTables(): Tables {
  const devices = new Map<number, Map<number, string>>()
  for (const [vendorId, deviceId, name] of BUNDLED_DEVICES) {
    let ofVendor = devices.get(vendorId)
    if (ofVendor === undefined) devices.set(vendorId, (ofVendor = new Map()))
    ofVendor.set(deviceId, name)
  }
  return {
    vendors: new Map(BUNDLED_VENDORS),
    classes: new Map(BUNDLED_CLASSES.map(([level, value, name]) => [classKey(level, value), name])),
    devicesOf: (vendorId) => devices.get(vendorId) ?? NO_DEVICES,
  }
}

function namesFrom(source: string, load: () => Tables): PciNames {
  let tables: Tables | undefined
  const get = (): Tables => (tables ??= load())
  return {
    source,
    vendor: (vendorId) => get().vendors.get(vendorId),
    device: (vendorId, deviceId) => get().devicesOf(vendorId).get(deviceId),
    className: (classCode) =>
      get().classes.get(classKey(3, classCode)) ??
      get().classes.get(classKey(2, classCode >> 8)) ??
      get().classes.get(classKey(1, classCode >> 16)),
  }
}

export const bundledPciNames: PciNames = namesFrom('bundled', bundledTables)

/**
 * Names from the first host that has a pci.ids (pass the --root host, then the live "/" so a
 * snapshot still gets names), falling back to the bundled table for ids the file lacks.
 * Only the existence check happens now; the file is read and parsed on the first lookup.
 */
export function loadPciNames(hosts: readonly HostFs[]): PciNames {
  for (const fs of hosts) {
    for (const path of PCI_IDS_PATHS) {
      if (fs.isDirectory(path)) continue
      const probe = fs.listDir(path.slice(0, path.lastIndexOf('/')))
      if (!probe.ok || !probe.value.includes(path.slice(path.lastIndexOf('/') + 1))) continue
      const file = namesFrom(`${fs.root === '/' ? '' : fs.root}${path}`, () => {
        const read = fs.readText(path)
        return read.ok ? parsePciIds(read.value) : bundledTables()
      })
      return withFallback(file, bundledPciNames)
    }
  }
  return bundledPciNames
}

function withFallback(primary: PciNames, fallback: PciNames): PciNames {
  return {
    source: primary.source,
    vendor: (v) => primary.vendor(v) ?? fallback.vendor(v),
    device: (v, d) => primary.device(v, d) ?? fallback.device(v, d),
    className: (c) => primary.className(c) ?? fallback.className(c),
  }
}

/** `Intel Corporation 82576 Gigabit Network Connection [8086:10c9]`, or ids alone when unnamed. */
export function describeDevice(names: PciNames, vendorId: number, deviceId: number): string {
  const ids = `[${vendorId.toString(16).padStart(4, '0')}:${deviceId.toString(16).padStart(4, '0')}]`
  const vendor = names.vendor(vendorId)
  const device = names.device(vendorId, deviceId)
  if (!vendor) return `Device ${ids}`
  return `${vendor} ${device ?? 'Device'} ${ids}`
}
