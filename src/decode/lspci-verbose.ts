/**
 * Parse `lspci -v` / `-vv` / `-vvv` (with or without `-nn`) TEXT into PciFunctions, enough for the
 * grouping replay: class, ids, header kind (bridge buses), PCIe port type, ACS capability and
 * control, ARI, SR-IOV, and the kernel's IOMMU group line ("IOMMU group: N" or "…, IOMMU group N"
 * in `Flags:`). Users paste these into mails and forums, so nothing here throws: what could not be
 * read is "unknown" plus a warning string.
 *
 * What plain text cannot tell is said so: without `-nn` ids come from a small vendor-name table
 * and "Device XXXX" names; with `-v` the ACS registers are not shown (acsPresentRegistersUnknown).
 */
import {ACS, PCIE_TYPE, type AcsRegisters, type PciFunction, type PciTopology, type SriovState} from './pci-function.js'

export interface LspciVerboseDevice {
  fn: PciFunction
  /** Heading text after the BDF. */
  description: string
  /** 1-based heading line. */
  line: number
  /** Vendor/device ids were printed (`-nn`) or recovered from names. */
  idsKnown: {vendor: boolean; device: boolean}
}

export interface LspciVerbose {
  devices: LspciVerboseDevice[]
  topology: PciTopology
  /** `-v` (capability headers only), `-vv`/`-vvv` (registers decoded). */
  detail: 'v' | 'vv'
  warnings: string[]
}

const HEADING = /^(?:([0-9a-f]{4,8}):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7]) (.+)$/i

/** lspci class names → class/subclass (pciutils' pci.ids class section, the ones hosts show). */
const CLASS_NAMES: Record<string, number> = {
  'Non-VGA unclassified device': 0x0000,
  'SCSI storage controller': 0x0100,
  'IDE interface': 0x0101,
  'RAID bus controller': 0x0104,
  'SATA controller': 0x0106,
  'Serial Attached SCSI controller': 0x0107,
  'Non-Volatile memory controller': 0x0108,
  'Mass storage controller': 0x0180,
  'Ethernet controller': 0x0200,
  'Network controller': 0x0280,
  'VGA compatible controller': 0x0300,
  '3D controller': 0x0302,
  'Display controller': 0x0380,
  'Multimedia video controller': 0x0400,
  'Multimedia audio controller': 0x0401,
  'Audio device': 0x0403,
  'Multimedia controller': 0x0480,
  'RAM memory': 0x0500,
  'Memory controller': 0x0580,
  'Host bridge': 0x0600,
  'ISA bridge': 0x0601,
  'PCI bridge': 0x0604,
  'CardBus bridge': 0x0607,
  'Bridge': 0x0680,
  'Serial controller': 0x0700,
  'Communication controller': 0x0780,
  'PIC': 0x0800,
  'System peripheral': 0x0880,
  'IOMMU': 0x0806,
  'SD Host controller': 0x0805,
  'FireWire (IEEE 1394)': 0x0c00,
  'USB controller': 0x0c03,
  'SMBus': 0x0c05,
  'Serial bus controller': 0x0c80,
  'Signal processing controller': 0x1180,
  'Encryption controller': 0x1080,
  'Non-Essential Instrumentation': 0x1300,
  'Processing accelerators': 0x1200,
  'Unassigned class': 0xff00,
}

/** Vendor names as pci.ids spells them → id (only needed when `-nn` was not used). */
const VENDOR_NAMES: ReadonlyArray<readonly [string, number]> = [
  ['Advanced Micro Devices, Inc. [AMD/ATI]', 0x1002],
  ['Advanced Micro Devices, Inc. [AMD]', 0x1022],
  ['Intel Corporation', 0x8086],
  ['NVIDIA Corporation', 0x10de],
  ['ASMedia Technology Inc.', 0x1b21],
  ['Realtek Semiconductor Co., Ltd.', 0x10ec],
  ['PLX Technology, Inc.', 0x10b5],
  ['Broadcom Inc. and subsidiaries', 0x14e4],
  ['Marvell Technology Group Ltd.', 0x1b4b],
  ['Samsung Electronics Co Ltd', 0x144d],
  ['Sandisk Corp', 0x15b7],
  ['SK hynix', 0x1c5c],
  ['Micron Technology Inc', 0x1344],
  ['MEDIATEK Corp.', 0x14c3],
  ['Kingston Technology Company, Inc.', 0x2646],
  ['Fresco Logic', 0x1b73],
  ['Genesys Logic, Inc', 0x17a0],
  ['Xilinx Corporation', 0x10ee],
  ['KIOXIA Corporation', 0x1e0f],
  ['Qualcomm Atheros', 0x168c],
  ['O2 Micro, Inc.', 0x1217],
  ['Texas Instruments', 0x104c],
  ['Renesas Technology Corp.', 0x1912],
  ['Solarflare Communications', 0x1924],
]

const PCIE_TYPE_TEXT: ReadonlyArray<readonly [RegExp, number]> = [
  [/^Root Complex Integrated Endpoint/, PCIE_TYPE.rcEndpoint],
  [/^Root Complex Event Collector/, PCIE_TYPE.rcEventCollector],
  [/^Legacy Endpoint/, PCIE_TYPE.legacyEndpoint],
  [/^Endpoint/, PCIE_TYPE.endpoint],
  [/^Root Port/, PCIE_TYPE.rootPort],
  [/^Upstream Port/, PCIE_TYPE.upstreamPort],
  [/^Downstream Port/, PCIE_TYPE.downstreamPort],
  [/^PCI-Express to PCI\/PCI-X Bridge/, PCIE_TYPE.pcieToPciBridge],
  [/^PCI\/PCI-X to PCI-Express Bridge/, PCIE_TYPE.pciToPcieBridge],
]

/** ACSCap/ACSCtl words as lspci prints them (ls-ecaps.c). */
const ACS_WORDS: ReadonlyArray<readonly [string, number]> = [
  ['SrcValid', ACS.SV],
  ['TransBlk', ACS.TB],
  ['ReqRedir', ACS.RR],
  ['CmpltRedir', ACS.CR],
  ['UpstreamFwd', ACS.UF],
  ['EgressCtrl', ACS.EC],
  ['DirectTrans', ACS.DT],
]

function acsBits(text: string): number {
  let bits = 0
  for (const [word, bit] of ACS_WORDS) if (new RegExp(`\\b${word}\\+`).test(text)) bits |= bit
  return bits
}

const pad = (n: number, w: number): string => n.toString(16).padStart(w, '0')
const fullBdf = (seg: number, bus: number, dev: number, fn: number): string => `${pad(seg, 4)}:${pad(bus, 2)}:${pad(dev, 2)}.${fn}`

interface Heading {
  seg: number
  bus: number
  dev: number
  fn: number
  rest: string
  line: number
  body: string[]
}

function parseHeading(rest: string): {classCode: number | undefined; vendor?: number; device?: number; vendorName: string; revision?: number; className: string} {
  // "PCI bridge [0604]: Intel Corporation Foo [8086:1901] (rev 05) (prog-if 00 [Normal decode])"
  const colon = rest.indexOf(': ')
  const classPart = colon >= 0 ? rest.slice(0, colon) : rest
  let names = colon >= 0 ? rest.slice(colon + 2) : ''
  const classNum = /\[([0-9a-f]{4})\]$/i.exec(classPart)
  const className = classPart.replace(/ \[[0-9a-f]{4}\]$/i, '')
  const progIf = /\(prog-if ([0-9a-f]{2})/i.exec(names)
  const rev = /\(rev ([0-9a-f]{2})\)/i.exec(names)
  names = names.replace(/ \(prog-if .*$/, '').replace(/ \(rev [0-9a-f]{2}\)/i, '')
  const ids = /\[([0-9a-f]{4}):([0-9a-f]{4})\]\s*$/i.exec(names)
  const base = classNum ? Number.parseInt(classNum[1] ?? '0', 16) : CLASS_NAMES[className]
  const classCode = base === undefined ? undefined : (base << 8) | (progIf ? Number.parseInt(progIf[1] ?? '0', 16) : 0)
  return {
    classCode,
    className,
    vendorName: names,
    ...(ids ? {vendor: Number.parseInt(ids[1] ?? '0', 16), device: Number.parseInt(ids[2] ?? '0', 16)} : {}),
    ...(rev ? {revision: Number.parseInt(rev[1] ?? '0', 16)} : {}),
  }
}

function idsFromNames(names: string): {vendor?: number; device?: number} {
  const vendor = VENDOR_NAMES.find(([name]) => names.startsWith(name))
  const device = /\bDevice ([0-9a-f]{4})\b/i.exec(names)
  return {
    ...(vendor ? {vendor: vendor[1]} : {}),
    ...(device ? {device: Number.parseInt(device[1] ?? '0', 16)} : {}),
  }
}

/** Split the text into device blocks (heading + indented lines); hex dump lines are ignored. */
function blocks(text: string): Heading[] {
  const out: Heading[] = []
  const lines = text.split(/\r?\n/)
  let current: Heading | undefined
  lines.forEach((raw, index) => {
    const line = raw.replace(/\s+$/, '')
    const heading = HEADING.exec(line)
    if (heading && !/^[0-9a-f]{2,3}: [0-9a-f]{2} /i.test(line)) {
      current = {
        seg: Number.parseInt(heading[1] ?? '0', 16),
        bus: Number.parseInt(heading[2] ?? '0', 16),
        dev: Number.parseInt(heading[3] ?? '0', 16),
        fn: Number.parseInt(heading[4] ?? '0', 16),
        rest: heading[5] ?? '',
        line: index + 1,
        body: [],
      }
      out.push(current)
      return
    }
    if (current && (/^\s/.test(raw) || /^[0-9a-f]{2,3}: [0-9a-f]{2} /i.test(line))) current.body.push(line.trim())
    else if (line === '') current = current && current.body.length === 0 ? current : undefined
    else if (current && !/^lspci /.test(line)) {
      // A mail client hard-wrapped the previous line: glue the continuation back on.
      const last = current.body.length - 1
      if (last < 0) current.rest = `${current.rest} ${line.trim()}`
      else current.body[last] = `${current.body[last]} ${line.trim()}`
    }
  })
  return out
}

export function decodeLspciVerbose(text: string): LspciVerbose {
  const warnings: string[] = []
  const devices: LspciVerboseDevice[] = []
  let registersShown = false
  const seen = new Set<string>()

  // A device may appear twice (`lspci -vvv -s X` then `lspci -xxxx -s X`): merge the bodies.
  const merged: Heading[] = []
  const firstOf = new Map<string, Heading>()
  for (const block of blocks(text)) {
    const bdf = fullBdf(block.seg, block.bus, block.dev, block.fn)
    const first = firstOf.get(bdf)
    if (first) first.body.push(...block.body)
    else {
      firstOf.set(bdf, block)
      merged.push(block)
    }
  }
  for (const block of merged) {
    const bdf = fullBdf(block.seg, block.bus, block.dev, block.fn)
    seen.add(bdf)
    const head = parseHeading(block.rest)
    const body = block.body
    // Without -nn the ids are in the first hex row when one was printed ("00: 86 80 18 8d …").
    const hex0 = body.map((l) => /^00: ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2}) /i.exec(l)).find((m) => m)
    const byHex = hex0 && hex0[1] !== 'ff'
      ? {vendor: Number.parseInt(`${hex0[2]}${hex0[1]}`, 16), device: Number.parseInt(`${hex0[4]}${hex0[3]}`, 16)}
      : {}
    const byName = head.vendor === undefined ? idsFromNames(head.vendorName) : {}
    const vendor = head.vendor ?? byHex.vendor ?? byName.vendor
    const device = head.device ?? byHex.device ?? byName.device
    const find = (re: RegExp): RegExpExecArray | undefined => {
      for (const line of body) {
        const m = re.exec(line)
        if (m) return m
      }
      return undefined
    }
    const has = (re: RegExp): boolean => find(re) !== undefined

    const deadConfig = has(/^!!! Unknown header type/) || has(/^!!! Invalid class/)
    const denied = has(/^Capabilities: <access denied>/)
    const busLine = find(/^Bus: primary=([0-9a-f]{2}), secondary=([0-9a-f]{2}), subordinate=([0-9a-f]{2})/i)
    const isCardbus = head.classCode !== undefined && head.classCode >> 8 === 0x0607
    const headerType = busLine ? (isCardbus ? 2 : 1) : head.classCode !== undefined && head.classCode >> 8 === 0x0604 ? 1 : 0

    const express = find(/^Capabilities: \[[0-9a-f]+\] Express (?:\(v\d\) )?(.*)$/i)
    let pcieType: PciFunction['pcieType'] = undefined
    if (express) {
      const typeText = express[1] ?? ''
      const known = PCIE_TYPE_TEXT.find(([re]) => re.test(typeText))
      pcieType = known ? known[1] : 'unknown'
    } else if (deadConfig || denied) pcieType = 'unknown'

    // ACS: "Capabilities: [xxx vN] Access Control Services" then ACSCap:/ACSCtl: lines (-vv and up).
    let acs: PciFunction['acs'] = undefined
    let acsPresentRegistersUnknown = false
    const acsIndex = body.findIndex((l) => /^Capabilities: \[[0-9a-f]+(?: v\d+)?\] Access Control Services/i.test(l))
    if (acsIndex >= 0) {
      // Mail clients wrap these lines; join everything up to the next capability, then split.
      const end = body.findIndex((l, i) => i > acsIndex && /^Capabilities:|^Kernel /.test(l))
      const joined = body.slice(acsIndex + 1, end < 0 ? undefined : end).join(' ')
      const capLine = /ACSCap:(.*?)(?=ACSCtl:|$)/.exec(joined)?.[1]
      const ctlLine = /ACSCtl:(.*?)(?=ACSEgress|$)/.exec(joined)?.[1]
      if (capLine && ctlLine) {
        registersShown = true
        acs = {cap: acsBits(capLine), ctl: acsBits(ctlLine)} satisfies AcsRegisters
      } else {
        acs = 'unknown'
        acsPresentRegistersUnknown = true
      }
    } else if (deadConfig || denied) acs = 'unknown'
    else if (express && has(/^LnkCap:/) && !has(/^Capabilities: \[[0-9a-f]{3,}(?: v\d+)?\]/) && !has(/^100: [0-9a-f]{2} /)) {
      // A PCIe function with registers decoded but not one extended capability listed: lspci could
      // not read past 0x100 (port in D3cold, or a truncated paste), so ACS is unknown, not absent.
      acs = 'unknown'
      warnings.push(`${bdf}: PCIe function without any extended capability shown; ACS treated as unknown`)
    }
    if (has(/^(ACSCap|DevCap2|LnkCap):/)) registersShown = true

    const ariIndex = body.findIndex((l) => /Alternative Routing-ID Interpretation \(ARI\)/.test(l))
    let ari: PciFunction['ari'] = deadConfig || denied ? 'unknown' : undefined
    if (ariIndex >= 0) {
      const next = /Next Function: (\d+)/.exec(body[ariIndex + 1] ?? '')
      ari = {nextFunction: next ? Number(next[1]) : 0}
    }
    const devCap2 = find(/^DevCap2:.*/)
    const ariFwdCap = body.some((l) => /ARIFwd\+/.test(l)) && devCap2 !== undefined
    const devCtl2 = body.find((l) => l.startsWith('DevCtl2:'))

    let sriov: PciFunction['sriov'] = deadConfig || denied ? 'unknown' : undefined
    const iovIndex = body.findIndex((l) => /Single Root I\/O Virtualization \(SR-IOV\)/.test(l))
    if (iovIndex >= 0) {
      const window = body.slice(iovIndex + 1, iovIndex + 12).join(' ')
      const counts = /Initial VFs: (\d+), Total VFs: (\d+), Number of VFs: (\d+)/.exec(window)
      const offset = /VF offset: (\d+), stride: (\d+), Device ID: ([0-9a-f]{4})/i.exec(window)
      if (counts && offset) {
        sriov = {
          initialVfs: Number(counts[1]),
          totalVfs: Number(counts[2]),
          numVfs: Number(counts[3]),
          firstVfOffset: Number(offset[1]),
          vfStride: Number(offset[2]),
          vfDeviceId: Number.parseInt(offset[3] ?? '0', 16),
          vfEnable: /IOVCtl:\s*Enable\+/.test(window),
          ariCapableHierarchy: /ARIHierarchy\+/.test(window),
        } satisfies SriovState
      } else sriov = 'unknown'
    }

    const group = find(/^IOMMU group: (\d+)/) ?? find(/^Flags: .*IOMMU group (\d+)/)
    const driver = find(/^Kernel driver in use: (\S+)/)
    // The PM capability's status line ("Status: D3 NoSoftRst+ PME-Enable+ …"), not the command/status register's "Status: Cap+ …".
    const power = find(/^Status: D([0-3]) NoSoftRst[+-]/)
    const numa = find(/^NUMA node: (\d+)/)
    const subsystem = find(/^Subsystem: .*\[([0-9a-f]{4}):([0-9a-f]{4})\]$/i)

    if (vendor === undefined) warnings.push(`${bdf}: vendor id not printed (use lspci -nn) and "${head.vendorName.slice(0, 40)}" not recognised`)
    if (head.classCode === undefined) warnings.push(`${bdf}: class "${head.className}" not recognised`)

    const fn: PciFunction = {
      bdf,
      segment: block.seg,
      bus: block.bus,
      device: block.dev,
      function: block.fn,
      vendorId: vendor ?? 0xffff,
      deviceId: device ?? 0xffff,
      ...(subsystem ? {subsystemVendorId: Number.parseInt(subsystem[1] ?? '0', 16), subsystemDeviceId: Number.parseInt(subsystem[2] ?? '0', 16)} : {}),
      classCode: head.classCode ?? 0xffffff,
      ...(head.revision !== undefined ? {revision: head.revision} : {}),
      headerType,
      multifunction: false,
      ...(busLine
        ? {secondaryBus: Number.parseInt(busLine[2] ?? '0', 16), subordinateBus: Number.parseInt(busLine[3] ?? '0', 16)}
        : {}),
      pcieType,
      acs,
      ...(acsPresentRegistersUnknown ? {acsPresentRegistersUnknown: true} : {}),
      ari,
      ...(devCap2 ? {ariForwarding: {supported: ariFwdCap || /ARIFwd\+/.test(devCap2[0]), enabled: devCtl2 !== undefined && /ARIFwd\+/.test(devCtl2)}} : {}),
      ats: deadConfig || denied ? 'unknown' : undefined,
      pri: deadConfig || denied ? 'unknown' : undefined,
      pasid: deadConfig || denied ? 'unknown' : undefined,
      sriov,
      flr: 'unknown',
      children: [],
      virtfns: [],
      isVirtfn: false,
      ...(driver ? {driver: driver[1]} : {}),
      ...(power ? {powerState: power[1] === '3' ? 'D3hot' as const : `D${power[1] as '0' | '1' | '2'}` as const} : {}),
      ...(group ? {iommuGroup: Number(group[1])} : {}),
      ...(numa ? {numaNode: Number(numa[1])} : {}),
      configLength: 0,
    }
    devices.push({fn, description: block.rest, line: block.line, idsKnown: {vendor: vendor !== undefined, device: device !== undefined}})
  }

  linkTopology(devices.map((d) => d.fn), warnings)
  const topology: PciTopology = {devices: new Map(devices.map((d) => [d.fn.bdf, d.fn])), source: 'lspci-dump'}
  return {devices, topology, detail: registersShown ? 'vv' : 'v', warnings}
}

/**
 * Fill in what text shows only indirectly: multifunction (other functions in the slot), parent
 * bridge (whose secondary bus is the device's bus), children, SR-IOV PF/VF links by routing id.
 */
function linkTopology(fns: PciFunction[], warnings: string[]): void {
  const slots = new Map<string, PciFunction[]>()
  for (const f of fns) {
    const key = `${f.segment}:${f.bus}:${f.device}`
    slots.set(key, [...(slots.get(key) ?? []), f])
  }
  for (const list of slots.values()) {
    // The kernel only scans functions 1-7 when function 0's header says multifunction.
    if (list.length > 1 || list.some((f) => f.function !== 0)) for (const f of list) f.multifunction = true
  }
  const bridgeOfBus = new Map<string, PciFunction>()
  for (const f of fns) {
    if (f.secondaryBus === undefined || f.headerType === 0) continue
    const key = `${f.segment}:${f.secondaryBus}`
    if (!bridgeOfBus.has(key)) bridgeOfBus.set(key, f)
  }
  const byRid = new Map<string, PciFunction>()
  for (const f of fns) byRid.set(`${f.segment}:${(f.bus << 8) | (f.device << 3) | f.function}`, f)
  // SR-IOV: VFs sit at PF RID + offset + n*stride.
  for (const pf of fns) {
    if (typeof pf.sriov !== 'object' || pf.sriov.numVfs === 0) continue
    const pfRid = (pf.bus << 8) | (pf.device << 3) | pf.function
    for (let n = 0; n < pf.sriov.numVfs; n++) {
      const vf = byRid.get(`${pf.segment}:${pfRid + pf.sriov.firstVfOffset + n * pf.sriov.vfStride}`)
      if (!vf || vf === pf) continue
      vf.isVirtfn = true
      vf.physfn = pf.bdf
      vf.multifunction = false
      pf.virtfns.push(vf.bdf)
    }
  }
  for (const f of fns) {
    const source = f.isVirtfn && f.physfn ? (fns.find((p) => p.bdf === f.physfn) ?? f) : f
    const bridge = bridgeOfBus.get(`${source.segment}:${source.bus}`)
    if (bridge && bridge !== f) {
      f.parent = bridge.bdf
      if (!f.isVirtfn) bridge.children.push(f.bdf)
    }
  }
  const rootBuses = new Set(fns.filter((f) => f.parent === undefined && !f.isVirtfn).map((f) => `${pad(f.segment, 4)}:${pad(f.bus, 2)}`))
  for (const bus of rootBuses) if (!bus.endsWith(':00') && !/^[0-9a-f]{5,}/.test(bus)) warnings.push(`bus ${bus} has no bridge above it in the text (partial listing?)`)
}

export interface GroupListingEntry {
  bdf: string
  group: number
  classCode?: number
  vendorId?: number
  deviceId?: number
}

/**
 * Group listings as users post them: `find /sys/kernel/iommu_groups/ -type l` lines, or the
 * Arch-wiki script ("IOMMU Group N:" then "BDF Class [cccc]: Names [vvvv:dddd]", hard-wrapped
 * by mail clients). Unrecognised text is skipped.
 */
export function decodeGroupListing(text: string): GroupListingEntry[] {
  const entries: GroupListingEntry[] = []
  const findStyle = /\/sys\/kernel\/iommu_groups\/(\d+)\/devices\/([0-9a-f]{4,8}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])/gi
  for (const m of text.matchAll(findStyle)) entries.push({bdf: (m[2] ?? '').toLowerCase(), group: Number(m[1])})
  if (entries.length > 0) return entries
  // Arch-wiki style: undo mail wrapping, then split on group headings.
  const flat = text.replace(/\r?\n(?!\s*IOMMU Group)/g, ' ')
  for (const raw of flat.split(/IOMMU Group (?=\d)/).slice(1)) {
    const part = raw.replace(/\s+/g, ' ').trim()
    const group = Number(/^(\d+)/.exec(part)?.[1] ?? Number.NaN)
    const device = /(?:^|\s)(?:([0-9a-f]{4}):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7]) ([^[]*?)\[([0-9a-f]{4})\]:(.*?)(?=(?:\s(?:[0-9a-f]{4}:)?[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] )|$)/gi
    for (const m of part.matchAll(device)) {
      const ids = /\[([0-9a-f]{4}):([0-9a-f]{4})\]/i.exec(m[7] ?? '')
      entries.push({
        bdf: fullBdf(Number.parseInt(m[1] ?? '0', 16), Number.parseInt(m[2] ?? '0', 16), Number.parseInt(m[3] ?? '0', 16), Number(m[4])),
        group,
        classCode: Number.parseInt(m[6] ?? '0', 16) << 8,
        ...(ids ? {vendorId: Number.parseInt(ids[1] ?? '0', 16), deviceId: Number.parseInt(ids[2] ?? '0', 16)} : {}),
      })
    }
  }
  return entries
}
