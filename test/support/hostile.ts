/**
 * Hostile snapshots, built in a temporary directory from a real lab capture: each one is what an
 * attacker could attach to a bug report. Beside the snapshot, outside it, sits a canary file; no
 * command may ever print its text.
 */
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {fixturesDir} from './paths.js'
import {scratchDir} from './scratch.js'

export const CANARY = 'CANARY-c4e1d'
/** A canary that is also a kernel fault line, a cmdline and a group type, so any reader would use it. */
export const CANARY_TEXT = [
  `intel_iommu=off iommu=pt ${CANARY}`,
  `[   12.000000] DMAR: [DMA Read] Request device [00:03.0] fault addr 0x1000 [fault reason 0x06] PTE Read access is not set ${CANARY}`,
  `identity ${CANARY}`,
  '',
].join('\n')

export const BASE_FIXTURE = 'lab-dma-faults'
export const BASE_DEVICE = '0000:00:03.0'
const DEVICE_DIR = 'sys/devices/pci0000:00/0000:00:03.0'
const UNIT_DIR = 'sys/devices/virtual/iommu/dmar0'

export interface Playground {
  /** Holds `snap/` and `outside/` (the canary and fake trees). */
  dir: string
  snap: string
  outside: string
  canary: string
}

export function playground(fixture = BASE_FIXTURE): Playground {
  const dir = scratchDir('vtd-hostile-')
  const snap = path.join(dir, 'snap')
  const outside = path.join(dir, 'outside')
  fs.cpSync(path.join(fixturesDir, fixture), snap, {recursive: true, verbatimSymlinks: true})
  fs.mkdirSync(outside)
  const canary = path.join(outside, 'canary.txt')
  fs.writeFileSync(canary, CANARY_TEXT)
  return {dir, snap, outside, canary}
}

/** Replaces whatever is at `at` (inside the snapshot) with a symlink to `target`. */
export function replaceWithLink(p: Playground, at: string, target: string): void {
  const file = path.join(p.snap, at)
  fs.rmSync(file, {recursive: true, force: true})
  fs.mkdirSync(path.dirname(file), {recursive: true})
  fs.symlinkSync(target, file)
}

/** A relative link target from `at` (inside the snapshot) to an absolute path. */
export function relativeTo(p: Playground, at: string, absolute: string): string {
  return path.relative(path.dirname(path.join(p.snap, at)), absolute)
}

export function replaceWithFifo(p: Playground, at: string): void {
  const file = path.join(p.snap, at)
  fs.rmSync(file, {recursive: true, force: true})
  execFileSync('mkfifo', [file])
}

/** A sparse file of `size` bytes (a hole: costs no disk), optionally with `tail` written at its end. */
export function replaceWithSparse(p: Playground, at: string, size: number, tail = ''): void {
  const file = path.join(p.snap, at)
  fs.rmSync(file, {recursive: true, force: true})
  fs.writeFileSync(file, '')
  fs.truncateSync(file, size)
  if (tail !== '') {
    const fd = fs.openSync(file, 'r+')
    fs.writeSync(fd, tail, size)
    fs.closeSync(fd)
  }
}

/** A fake tree outside the snapshot: a copy of part of it with the canary planted in `files`. */
function outsideCopy(p: Playground, from: string, name: string, files: string[]): string {
  const copy = path.join(p.outside, name)
  fs.cpSync(path.join(p.snap, from), copy, {recursive: true, verbatimSymlinks: true})
  for (const file of files) fs.writeFileSync(path.join(copy, file), CANARY_TEXT)
  return copy
}

export interface HostileCase {
  name: string
  build: (p: Playground) => void
  /** Host paths that must be refused, and the words the refusal gives. */
  refused: Array<{path: string; kind: 'bytes' | 'link' | 'list'; because: RegExp}>
}

const OUTSIDE = /points outside the snapshot/
const NOT_REGULAR = /not a regular file/
const LARGER = /larger than/

export const HOSTILE_CASES: HostileCase[] = [
  {
    name: 'group type -> outside file (relative link)',
    build: (p) => replaceWithLink(p, 'sys/kernel/iommu_groups/0/type', relativeTo(p, 'sys/kernel/iommu_groups/0/type', p.canary)),
    refused: [{path: '/sys/kernel/iommu_groups/0/type', kind: 'bytes', because: OUTSIDE}],
  },
  {
    name: 'group type -> outside file (absolute link)',
    build: (p) => replaceWithLink(p, 'sys/kernel/iommu_groups/0/type', p.canary),
    refused: [{path: '/sys/kernel/iommu_groups/0/type', kind: 'bytes', because: OUTSIDE}],
  },
  {
    name: 'unit intel-iommu/version and cap -> outside file',
    build: (p) => {
      replaceWithLink(p, `${UNIT_DIR}/intel-iommu/version`, relativeTo(p, `${UNIT_DIR}/intel-iommu/version`, p.canary))
      replaceWithLink(p, `${UNIT_DIR}/intel-iommu/cap`, p.canary)
    },
    refused: [
      {path: '/sys/class/iommu/dmar0/intel-iommu/version', kind: 'bytes', because: OUTSIDE},
      {path: '/sys/class/iommu/dmar0/intel-iommu/cap', kind: 'bytes', because: OUTSIDE},
    ],
  },
  {
    name: 'dmesg.txt and proc/cmdline -> outside file',
    build: (p) => {
      replaceWithLink(p, 'dmesg.txt', relativeTo(p, 'dmesg.txt', p.canary))
      replaceWithLink(p, 'proc/cmdline', p.canary)
    },
    refused: [
      {path: '/dmesg.txt', kind: 'bytes', because: OUTSIDE},
      {path: '/proc/cmdline', kind: 'bytes', because: OUTSIDE},
    ],
  },
  {
    name: 'proc -> a fake proc outside',
    build: (p) => replaceWithLink(p, 'proc', relativeTo(p, 'proc', outsideCopy(p, 'proc', 'proc', ['cmdline', 'version']))),
    refused: [{path: '/proc/cmdline', kind: 'bytes', because: OUTSIDE}],
  },
  {
    name: 'proc -> /proc (the machine running the tool)',
    build: (p) => replaceWithLink(p, 'proc', '/proc'),
    refused: [
      {path: '/proc/cmdline', kind: 'bytes', because: OUTSIDE},
      {path: '/proc/self/mountinfo', kind: 'bytes', because: OUTSIDE},
    ],
  },
  {
    name: 'iommu_groups and a device directory -> fake trees outside',
    build: (p) => {
      const groups = outsideCopy(p, 'sys/kernel/iommu_groups', 'groups', ['0/type', '1/type'])
      replaceWithLink(p, 'sys/kernel/iommu_groups', relativeTo(p, 'sys/kernel/iommu_groups', groups))
      outsideCopy(p, DEVICE_DIR, 'device', ['driver_override', 'modalias'])
      replaceWithLink(p, `sys/bus/pci/devices/${BASE_DEVICE}`, relativeTo(p, `sys/bus/pci/devices/${BASE_DEVICE}`, path.join(p.outside, 'device')))
    },
    refused: [
      {path: '/sys/kernel/iommu_groups', kind: 'list', because: OUTSIDE},
      {path: `/sys/bus/pci/devices/${BASE_DEVICE}/driver_override`, kind: 'bytes', because: OUTSIDE},
    ],
  },
  {
    name: 'device links (iommu_group, driver) climbing out of the root',
    build: (p) => {
      replaceWithLink(p, `${DEVICE_DIR}/iommu_group`, '../../../../../../../../../../tmp')
      replaceWithLink(p, `${DEVICE_DIR}/driver`, '/etc')
    },
    refused: [
      {path: `/sys/bus/pci/devices/${BASE_DEVICE}/iommu_group`, kind: 'link', because: OUTSIDE},
      {path: `/sys/bus/pci/devices/${BASE_DEVICE}/driver`, kind: 'link', because: OUTSIDE},
    ],
  },
  {
    name: 'FIFOs in place of DMAR, dmesg.txt, a config and meta.json',
    build: (p) => {
      for (const at of ['sys/firmware/acpi/tables/DMAR', 'dmesg.txt', `${DEVICE_DIR}/config`, 'meta.json']) replaceWithFifo(p, at)
    },
    refused: [
      {path: '/sys/firmware/acpi/tables/DMAR', kind: 'bytes', because: NOT_REGULAR},
      {path: '/dmesg.txt', kind: 'bytes', because: NOT_REGULAR},
      {path: `/sys/bus/pci/devices/${BASE_DEVICE}/config`, kind: 'bytes', because: NOT_REGULAR},
      {path: '/meta.json', kind: 'bytes', because: NOT_REGULAR},
    ],
  },
  {
    name: 'links to /dev/zero and /dev/urandom',
    build: (p) => {
      replaceWithLink(p, `${DEVICE_DIR}/config`, '/dev/zero')
      replaceWithLink(p, 'sys/firmware/acpi/tables/DMAR', relativeTo(p, 'sys/firmware/acpi/tables/DMAR', '/dev/zero'))
      replaceWithLink(p, 'dmesg.txt', '/dev/urandom')
    },
    refused: [
      {path: `/sys/bus/pci/devices/${BASE_DEVICE}/config`, kind: 'bytes', because: OUTSIDE},
      {path: '/sys/firmware/acpi/tables/DMAR', kind: 'bytes', because: OUTSIDE},
      {path: '/dmesg.txt', kind: 'bytes', because: OUTSIDE},
    ],
  },
  {
    name: 'huge sparse files: a 2 GiB config and DMAR, a 48 MiB dmesg.txt line',
    build: (p) => {
      replaceWithSparse(p, `${DEVICE_DIR}/config`, 2 ** 31)
      replaceWithSparse(p, 'sys/firmware/acpi/tables/DMAR', 2 ** 31)
      replaceWithSparse(p, 'dmesg.txt', 48 * 2 ** 20, `\n${CANARY_TEXT.split('\n')[1]!.replace(CANARY, 'after-the-hole')}\n`)
    },
    refused: [
      {path: `/sys/bus/pci/devices/${BASE_DEVICE}/config`, kind: 'bytes', because: LARGER},
      {path: '/sys/firmware/acpi/tables/DMAR', kind: 'bytes', because: LARGER},
      {path: '/dmesg.txt', kind: 'bytes', because: LARGER},
    ],
  },
  {
    name: 'escape sequences in a driver link, a group type and the log',
    build: (p) => {
      replaceWithLink(p, `${DEVICE_DIR}/driver`, '../../../bus/pci/drivers/\x1b]0;pwned\x07evil\x1b[2J')
      fs.writeFileSync(path.join(p.snap, 'sys/kernel/iommu_groups/1/type'), '\x1b[2J\x1b]0;owned\x07DMA\x9b31m\n')
      fs.appendFileSync(path.join(p.snap, 'dmesg.txt'), '[   99.000000] DMAR: [DMA Read] Request device [00:03.0] fault addr 0x2000 [fault reason 0x06] \x1b[2J\x1b]0;owned\x07PTE Read access is not set\n')
    },
    refused: [],
  },
  {
    name: 'meta.json with the wrong types',
    build: (p) => fs.writeFileSync(path.join(p.snap, 'meta.json'), '{"unreadable": 5, "hostname": {"x": 1}, "uid": "root"}'),
    refused: [],
  },
  {
    name: 'meta.json that is not JSON, and a directory for cmdline',
    build: (p) => {
      fs.writeFileSync(path.join(p.snap, 'meta.json'), '{"unreadable": ["/proc/cmdline"')
      fs.rmSync(path.join(p.snap, 'proc/cmdline'))
      fs.mkdirSync(path.join(p.snap, 'proc/cmdline'))
    },
    refused: [{path: '/proc/cmdline', kind: 'bytes', because: NOT_REGULAR}],
  },
]

/** Every file (and link text) under a directory, as path -> content, for before/after comparisons. */
export function treeState(dir: string): Map<string, string> {
  const state = new Map<string, string>()
  const walk = (at: string) => {
    for (const entry of fs.readdirSync(at, {withFileTypes: true})) {
      const full = path.join(at, entry.name)
      if (entry.isSymbolicLink()) state.set(full, `-> ${fs.readlinkSync(full)}`)
      else if (entry.isDirectory()) walk(full)
      else if (entry.isFile()) state.set(full, fs.statSync(full).size > 1 << 20 ? `size ${fs.statSync(full).size}` : fs.readFileSync(full, 'latin1'))
      else state.set(full, 'special')
    }
  }
  walk(dir)
  return state
}
