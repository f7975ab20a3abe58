// Writes a large, self-consistent host snapshot (the layout `vtd-check --root` and
// `lspci -A linux-sysfs -O sysfs.path=ROOT/sys/bus/pci` read) from the lab snapshots' real device files.
//
// usage: node bench/large-host.mjs OUT FUNCTIONS
//
// What is real and what is arranged:
// - Every device directory (config space, ids, link state, driver/iommu links, SR-IOV files) is a
//   verbatim copy of a real Debian 6.1 guest's sysfs from `sysfs-fixtures/lab-*` (see their READMEs).
// - The platform (root bus 0000:00 integrated devices, /proc, DMI, the DRHD's unit registers, dmesg)
//   comes from lab-switch.
// - Whole root-port subtrees (root port + everything below it) are replicated from four labs, in turn:
//   lab-switch (switch with three downstream ports), lab-sriov-nvme (NVMe PF + 2 VFs),
//   lab-multifunction-endpoints (two-function endpoint), lab-pcie-pci-bridge (PCIe-to-PCI bridge).
//   Each copy keeps the real kernel's group partition for that subtree (one fresh group per source group).
// - Arranged to keep it consistent: BDFs (new root-port slots, new bus numbers, new segments of 255
//   buses each), bridges' primary/secondary/subordinate bus bytes (config 0x18-0x1a), the multi-function
//   bit of root-port config (0x0e bit 7), one DRHD (+ unit dmarN) per segment listing that segment's
//   root-bus devices in its device scopes, and the dmesg lines for replicated devices ("pci BDF: ..."
//   enumeration and "Adding to iommu group N"), copied from the source lab's dmesg with the BDF and
//   group replaced.
// - `resource`: the lab snapshots carry none (lspci -A linux-sysfs refuses a device without it), and
//   BAR sizes cannot be recovered from config bytes, so each device gets the kernel's 17-line file with
//   every region unassigned (all zero). lspci then prints regions without addresses; the work it does
//   per device (open, read, parse) is the same.
import {
  copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const fixtures = path.join(repoRoot, 'sysfs-fixtures')
const [out, countArg] = process.argv.slice(2)
const target = Number(countArg)
if (!out || !Number.isInteger(target) || target < 20) throw new Error('usage: node bench/large-host.mjs OUT FUNCTIONS (>= 20)')

const BASE = 'lab-switch'
const TEMPLATES = [
  {lab: 'lab-switch', rootPort: '0000:00:1c.0'},
  {lab: 'lab-sriov-nvme', rootPort: '0000:00:1c.0'},
  {lab: 'lab-multifunction-endpoints', rootPort: '0000:00:1c.0'},
  {lab: 'lab-pcie-pci-bridge', rootPort: '0000:00:1c.0'},
]
const BDF = /^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/
const hex = (n, w) => n.toString(16).padStart(w, '0')
const bdfOf = (seg, bus, dev, fn) => `${hex(seg, 4)}:${hex(bus, 2)}:${hex(dev, 2)}.${fn}`
const parse = (bdf) => {
  const m = BDF.exec(bdf)
  return {seg: parseInt(m[1], 16), bus: parseInt(m[2], 16), dev: parseInt(m[3], 16), fn: Number(m[4])}
}
const RESOURCE = '0x0000000000000000 0x0000000000000000 0x0000000000000000\n'.repeat(17)

/** A lab's real device tree: per BDF its sysfs dir (relative to the lab root) and its group. */
function readLab(lab) {
  const root = path.join(fixtures, lab)
  const devices = new Map()
  for (const bdf of readdirSync(path.join(root, 'sys/bus/pci/devices')).sort()) {
    const link = readlinkSync(path.join(root, 'sys/bus/pci/devices', bdf))
    const dir = path.posix.normalize(path.posix.join('sys/bus/pci/devices', link))
    const group = path.basename(readlinkSync(path.join(root, dir, 'iommu_group')))
    devices.set(bdf, {bdf, dir, group: Number(group)})
  }
  const dmesg = readFileSync(path.join(root, 'dmesg.txt'), 'latin1').split('\n')
  return {lab, root, devices, dmesg}
}

const labs = new Map([BASE, ...TEMPLATES.map((t) => t.lab)].map((lab) => [lab, readLab(lab)]))

/** A template: the root port and its subtree in depth-first order, buses in order of first use. */
function loadTemplate({lab, rootPort}) {
  const source = labs.get(lab)
  const rpDir = source.devices.get(rootPort).dir
  const members = [...source.devices.values()].filter((d) => d.dir === rpDir || d.dir.startsWith(rpDir + '/'))
  members.sort((a, b) => a.dir.split('/').length - b.dir.split('/').length || a.bdf.localeCompare(b.bdf))
  const buses = [...new Set(members.filter((d) => d.bdf !== rootPort).map((d) => parse(d.bdf).bus))].sort((a, b) => a - b)
  const groups = [...new Set(members.map((d) => d.group))]
  for (const d of source.devices.values()) {
    if (groups.includes(d.group) && !members.includes(d)) throw new Error(`${lab}: group ${d.group} leaves the subtree`)
  }
  return {source, rootPort, members, buses, groups}
}
const templates = TEMPLATES.map(loadTemplate)
const baseLab = labs.get(BASE)
const baseRootPorts = new Set(TEMPLATES.filter((t) => t.lab === BASE).map((t) => t.rootPort))
// Root-bus devices of the base platform that are not the root of a subtree (host bridge, LPC, SATA, SMBus, edu).
const platformDevices = [...baseLab.devices.values()].filter((d) => parse(d.bdf).bus === 0 && !baseRootPorts.has(d.bdf))

// ---- plan: which copies, where -------------------------------------------------------------------
const plan = [] // {template, seg, rootPort:{dev,fn}, busBase}
let functions = platformDevices.length
{
  let seg = 0, nextBus = 1, slot = 0
  const usedSlots = (s) => (s === 0 ? new Set(platformDevices.map((d) => parse(d.bdf).dev)) : new Set([0]))
  let free = [...Array(32).keys()].filter((d) => !usedSlots(0).has(d))
  for (let i = 0; functions < target; i++) {
    const template = templates[i % templates.length]
    const take = Math.min(template.members.length, target - functions)
    if (nextBus + template.buses.length > 256 || slot >= free.length * 8) {
      seg++; nextBus = 1; slot = 0
      free = [...Array(32).keys()].filter((d) => !usedSlots(seg).has(d))
    }
    plan.push({template, take, seg, dev: free[Math.floor(slot / 8)], fn: slot % 8, busBase: nextBus})
    slot++
    nextBus += template.buses.length
    functions += take
  }
}
const segments = Math.max(...plan.map((p) => p.seg), 0) + 1

// ---- write ----------------------------------------------------------------------------------------
rmSync(out, {recursive: true, force: true})
const at = (p) => path.join(out, p)
const mkdirp = (p) => mkdirSync(at(p), {recursive: true})
const copy = (from, to) => { mkdirp(path.dirname(to)); copyFileSync(from, at(to)) }
const link = (where, absTarget) => {
  mkdirp(path.dirname(where))
  symlinkSync(path.posix.relative(path.posix.dirname(where), absTarget), at(where))
}

// Platform files: /proc, DMI, base unit registers, meta.json.
for (const rel of ['proc', 'sys/class/dmi', 'meta.json']) copyTree(path.join(baseLab.root, rel), rel)
function copyTree(from, to) {
  const st = lstatSync(from)
  if (st.isDirectory()) {
    mkdirp(to)
    for (const name of readdirSync(from)) copyTree(path.join(from, name), path.posix.join(to, name))
  } else if (st.isSymbolicLink()) {
    mkdirp(path.dirname(to)); symlinkSync(readlinkSync(from), at(to))
  } else copy(from, to)
}

const unitDir = (seg) => `sys/devices/virtual/iommu/dmar${seg}`
const baseUnit = path.join(baseLab.root, 'sys/devices/virtual/iommu/dmar0/intel-iommu')
const baseAddress = parseInt(readFileSync(path.join(baseUnit, 'address'), 'latin1'), 16)
const unitAddress = (seg) => baseAddress + seg * 0x1000
for (let seg = 0; seg < segments; seg++) {
  for (const name of readdirSync(baseUnit)) copy(path.join(baseUnit, name), `${unitDir(seg)}/intel-iommu/${name}`)
  writeFileSync(at(`${unitDir(seg)}/intel-iommu/address`), `${hex(unitAddress(seg), 8)}\n`)
  mkdirp(`${unitDir(seg)}/devices`)
  link(`sys/class/iommu/dmar${seg}`, `/${unitDir(seg)}`.slice(1))
}

let nextGroup = 0
const groupsDir = 'sys/kernel/iommu_groups'
const rootBusDevices = new Map() // seg -> [{dev, fn, bridge}]
const dmesgDevices = [] // replicated "pci BDF:" lines: {kind: 'enum'|'group', text}

/**
 * Copies one real device directory (files only; child device dirs are written by their own call)
 * to `newDir`, rewriting its links for the new BDF, group and unit.
 */
function writeDevice(source, srcDev, newBdf, newDir, groupMap, seg, bdfMap, busMap) {
  const srcDir = path.join(source.root, srcDev.dir)
  mkdirp(newDir)
  for (const entry of readdirSync(srcDir, {withFileTypes: true})) {
    const name = entry.name
    const from = path.join(srcDir, name)
    if (entry.isDirectory()) {
      if (!BDF.test(name)) copyTree(from, `${newDir}/${name}`)
      continue
    }
    if (entry.isSymbolicLink()) {
      const target = readlinkSync(from)
      const abs = path.posix.normalize(path.posix.join(srcDev.dir, target))
      let mapped
      if (name === 'iommu_group') mapped = `${groupsDir}/${groupMap.get(srcDev.group)}`
      else if (name === 'iommu') mapped = unitDir(seg)
      else if (name === 'physfn' || /^virtfn\d+$/.test(name)) mapped = `${path.posix.dirname(newDir)}/${bdfMap.get(path.basename(abs))}`
      else mapped = abs // driver: the drivers directory is not part of a snapshot; keep where it points
      link(`${newDir}/${name}`, mapped)
      continue
    }
    if (name === 'config') {
      const config = Buffer.from(readFileSync(from))
      // Secondary bus now; primary and subordinate once the whole tree is written.
      const secondary = (config[0x0e] & 0x7f) === 1 ? busMap.get(config[0x19]) : undefined
      if (secondary !== undefined) config[0x19] = secondary
      writeFileSync(at(`${newDir}/config`), config)
    } else copy(from, `${newDir}/${name}`)
  }
  writeFileSync(at(`${newDir}/resource`), RESOURCE)
  link(`sys/bus/pci/devices/${newBdf}`, newDir)
  link(`${unitDir(seg)}/devices/${newBdf}`, newDir)
  link(`${groupsDir}/${groupMap.get(srcDev.group)}/devices/${newBdf}`, newDir)
  for (const line of source.dmesg) {
    const m = /^(\[[^\]]*\]) pci (\S+): (.*)$/.exec(line)
    if (!m || m[2] !== srcDev.bdf) continue
    const group = /^Adding to iommu group (\d+)$/.exec(m[3])
    dmesgDevices.push(group
      ? {kind: 'group', text: `${m[1]} pci ${newBdf}: Adding to iommu group ${groupMap.get(Number(group[1]))}`}
      : {kind: 'enum', text: `${m[1]} pci ${newBdf}: ${m[3]}`})
  }
}

function writeGroups(source, groupMap) {
  for (const [srcGroup, newGroup] of groupMap) {
    for (const name of ['type', 'reserved_regions']) {
      const from = path.join(source.root, groupsDir, String(srcGroup), name)
      if (existsSync(from)) copy(from, `${groupsDir}/${newGroup}/${name}`)
    }
    mkdirp(`${groupsDir}/${newGroup}/devices`)
  }
}

// Segment 0's platform devices keep their BDFs.
{
  const groupMap = new Map()
  for (const d of platformDevices) if (!groupMap.has(d.group)) groupMap.set(d.group, nextGroup++)
  writeGroups(baseLab, groupMap)
  const bdfMap = new Map(platformDevices.map((d) => [d.bdf, d.bdf]))
  for (const d of platformDevices) {
    writeDevice(baseLab, d, d.bdf, `sys/devices/pci0000:00/${d.bdf}`, groupMap, 0, bdfMap, new Map())
    const {dev, fn} = parse(d.bdf)
    const config = readFileSync(path.join(baseLab.root, d.dir, 'config'))
    if (!rootBusDevices.has(0)) rootBusDevices.set(0, [])
    rootBusDevices.get(0).push({dev, fn, bridge: (config[0x0e] & 0x7f) === 1})
  }
}

for (const p of plan) {
  const {template, seg, dev, fn, busBase, take} = p
  const busMap = new Map(template.buses.map((b, i) => [b, busBase + i]))
  const bdfMap = new Map()
  for (const m of template.members) {
    const {bus, dev: d, fn: f} = parse(m.bdf)
    bdfMap.set(m.bdf, m.bdf === template.rootPort ? bdfOf(seg, 0, dev, fn) : bdfOf(seg, busMap.get(bus), d, f))
  }
  const members = template.members.slice(0, take)
  const groupMap = new Map()
  for (const m of members) if (!groupMap.has(m.group)) groupMap.set(m.group, nextGroup++)
  writeGroups(template.source, groupMap)
  const rpDir = template.source.devices.get(template.rootPort).dir
  const newRpDir = `sys/devices/pci${hex(seg, 4)}:00/${bdfMap.get(template.rootPort)}`
  for (const m of members) {
    const newDir = m.dir === rpDir ? newRpDir : newRpDir + m.dir.slice(rpDir.length).replace(/[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]/g, (b) => bdfMap.get(b) ?? b)
    writeDevice(template.source, m, bdfMap.get(m.bdf), newDir, groupMap, seg, bdfMap, busMap)
  }
  if (!rootBusDevices.has(seg)) rootBusDevices.set(seg, [])
  rootBusDevices.get(seg).push({dev, fn, bridge: true})
}

// Primary/subordinate bus numbers, and the multi-function bit of root-bus devices, from the written tree.
{
  const dirs = new Map() // device dir -> bdf
  for (const bdf of readdirSync(at('sys/bus/pci/devices'))) {
    dirs.set(path.posix.normalize(path.posix.join('sys/bus/pci/devices', readlinkSync(at(`sys/bus/pci/devices/${bdf}`)))), bdf)
  }
  const highestBelow = new Map() // bridge dir -> highest bus number of any device below it
  for (const [dir, bdf] of dirs) {
    for (let up = path.posix.dirname(dir); dirs.has(up); up = path.posix.dirname(up)) {
      highestBelow.set(up, Math.max(highestBelow.get(up) ?? 0, parse(bdf).bus))
    }
  }
  for (const [dir, bdf] of dirs) {
    const {seg, bus, dev} = parse(bdf)
    const configPath = at(`${dir}/config`)
    const config = Buffer.from(readFileSync(configPath))
    if (bus === 0) {
      const siblings = rootBusDevices.get(seg).filter((d) => d.dev === dev).length
      config[0x0e] = siblings > 1 ? config[0x0e] | 0x80 : config[0x0e] & 0x7f
    }
    if ((config[0x0e] & 0x7f) === 1) {
      config[0x18] = bus
      config[0x1a] = Math.max(config[0x19], highestBelow.get(dir) ?? 0)
    }
    writeFileSync(configPath, config)
  }
}

// DMAR: the base table's header, then one DRHD per segment whose scopes list that segment's root-bus
// devices (as QEMU's does: endpoint = type 1, bridge = type 2); segment 0 keeps its IOAPIC scope.
{
  const table = readFileSync(path.join(baseLab.root, 'sys/firmware/acpi/tables/DMAR'))
  const header = Buffer.from(table.subarray(0, 48))
  const firstDrhd = table.subarray(48, 48 + table.readUInt16LE(50))
  const ioapicScopes = []
  for (let o = 16; o < firstDrhd.length; o += firstDrhd[o + 1]) if (firstDrhd[o] === 3) ioapicScopes.push(firstDrhd.subarray(o, o + firstDrhd[o + 1]))
  const drhds = []
  for (let seg = 0; seg < segments; seg++) {
    const scopes = seg === 0 ? [...ioapicScopes] : []
    for (const d of [...rootBusDevices.get(seg)].sort((a, b) => a.dev - b.dev || a.fn - b.fn)) {
      scopes.push(Buffer.from([d.bridge ? 2 : 1, 8, 0, 0, 0, 0, d.dev, d.fn]))
    }
    const drhd = Buffer.alloc(16)
    const body = Buffer.concat(scopes)
    drhd.writeUInt16LE(0, 0)
    drhd.writeUInt16LE(16 + body.length, 2)
    drhd[4] = firstDrhd[4]
    drhd.writeUInt16LE(seg, 6)
    drhd.writeBigUInt64LE(BigInt(unitAddress(seg)), 8)
    drhds.push(drhd, body)
  }
  const dmar = Buffer.concat([header, ...drhds])
  dmar.writeUInt32LE(dmar.length, 4)
  dmar[9] = 0
  let sum = 0
  for (const b of dmar) sum = (sum + b) & 0xff
  dmar[9] = (256 - sum) & 0xff
  mkdirp('sys/firmware/acpi/tables')
  writeFileSync(at('sys/firmware/acpi/tables/DMAR'), dmar)
}

// dmesg: the base boot log without its replaced subtree's device lines; replicated device lines go
// after the last enumeration / group line of the base; one DRHD/unit line pair per extra segment.
{
  const baseSubtree = new Set([...baseLab.devices.keys()].filter((b) => !platformDevices.some((d) => d.bdf === b)))
  const lines = []
  let lastEnum = -1, lastGroup = -1
  for (const line of baseLab.dmesg) {
    const m = /^\[[^\]]*\] pci (\S+): (.*)$/.exec(line)
    if (m && baseSubtree.has(m[1])) continue
    lines.push(line)
    if (m && /^Adding to iommu group/.test(m[2])) lastGroup = lines.length - 1
    else if (m) lastEnum = lines.length - 1
    const unit = /^(\[[^\]]*\]) DMAR: dmar0: reg_base_addr (\S+) (.*)$/.exec(line)
    if (unit) for (let seg = 1; seg < segments; seg++) {
      lines.push(`${unit[1]} DMAR: DRHD base: 0x${hex(unitAddress(seg), 14)} flags: 0x0`)
      lines.push(`${unit[1]} DMAR: dmar${seg}: reg_base_addr ${hex(unitAddress(seg), 8)} ${unit[3]}`)
    }
  }
  const enumLines = dmesgDevices.filter((l) => l.kind === 'enum').map((l) => l.text)
  const groupLines = dmesgDevices.filter((l) => l.kind === 'group').map((l) => l.text)
  lines.splice(lastGroup + 1, 0, ...groupLines)
  lines.splice(lastEnum + 1, 0, ...enumLines)
  writeFileSync(at('dmesg.txt'), lines.join('\n'))
}

const written = readdirSync(at('sys/bus/pci/devices')).length
console.log(JSON.stringify({root: out, functions: written, segments, groups: nextGroup, subtrees: plan.length}))
