/**
 * Differential test: our config-space decoder against pciutils' lspci on the same bytes.
 * - every real dump in test/fixtures/real/pci (lspci -F reads hex dumps); the two dumps lspci itself
 *   rejects (a spliced warning, an over-long text line) are fed to lspci re-serialized;
 * - every lab snapshot in sysfs-fixtures/lab-* (lspci -A linux-sysfs on a copy, because the
 *   capture has no `resource` files and lspci insists on them).
 * CI installs pciutils; without it the first test fails and says so.
 */
import {cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'
import {formatHexDump, parseLspciDump} from '../src/decode/lspci-dump.js'
import {RootedHostFs} from '../src/host/fs.js'
import type {PciFunction, PciTopology} from '../src/model/pci.js'
import {loadTopology, topologyFromLspciDump} from '../src/model/topology.js'
import {lspciInstalled, parseLspciVerbose, runLspci, type LspciFacts} from './pci-lspci-text.js'
import {realData} from './support/paths.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dataDir = path.join(realData, 'pci')
const dumps = readdirSync(dataDir).filter((name) => /-lspci-xxx|-lspci-vvv-partial/.test(name)).sort()
const labs = existsSync(path.join(repoRoot, 'sysfs-fixtures'))
  ? readdirSync(path.join(repoRoot, 'sysfs-fixtures'))
      .filter((name) => name.startsWith('lab-') && existsSync(path.join(repoRoot, 'sysfs-fixtures', name, 'sys/bus/pci/devices')))
      .sort()
  : []
const haveLspci = lspciInstalled()
const scratch = mkdtempSync(path.join(tmpdir(), 'vtd-pci-lspci-'))
afterAll(() => rmSync(scratch, {recursive: true, force: true}), 60_000)

// pciutils' port-type words (ls-caps.c cap_express), independent of our table.
const PORT_TYPE_WORDS: Record<string, number> = {
  Endpoint: 0,
  'Legacy Endpoint': 1,
  'Root Port': 4,
  'Upstream Port': 5,
  'Downstream Port': 6,
  'PCI-Express to PCI/PCI-X Bridge': 7,
  'PCI/PCI-X to PCI-Express Bridge': 8,
  'Root Complex Integrated Endpoint': 9,
  'Root Complex Event Collector': 10,
}

/** lspci lists a device once per heading; a -vvv block without hex shows as ffff: keep the real one. */
function lspciByBdf(facts: LspciFacts[]): Map<string, LspciFacts> {
  const out = new Map<string, LspciFacts>()
  for (const fact of facts) {
    const seen = out.get(fact.bdf)
    if (!seen || (seen.vendorId === 0xffff && fact.vendorId !== 0xffff)) out.set(fact.bdf, fact)
  }
  return out
}

/** How often each fact was compared, over every dump and snapshot (checked by the last test). */
const comparedByLabel = new Map<string, number>()

interface Tally {
  devices: number
  facts: number
}

/** Compare one device; returns how many individual facts were compared. */
function compareDevice(ours: PciFunction, theirs: LspciFacts, where: string): number {
  let compared = 0
  const same = (label: string, mine: unknown, lspci: unknown): void => {
    compared++
    comparedByLabel.set(label, (comparedByLabel.get(label) ?? 0) + 1)
    expect(mine, `${where} ${ours.bdf} ${label}`).toEqual(lspci)
  }
  if (theirs.vendorId === 0xffff || theirs.unknownHeader) {
    // lspci decodes an all-ones device as ffff; we must call its capabilities unknown, not absent.
    same('all-ones config', ours.config?.allOnes ?? false, true)
    same('pcieType of an all-ones device', ours.pcieType, 'unknown')
    return compared
  }
  // lspci cuts very long names ("… [8086..."), ids and all: compare ids when it printed them.
  if (theirs.vendorId !== undefined) {
    same('vendor', ours.vendorId, theirs.vendorId)
    same('device', ours.deviceId, theirs.deviceId)
  }
  if (theirs.classId !== undefined) same('class', ours.classCode >> 8, theirs.classId)
  const standard = ours.config?.capabilities.list.map((cap) => cap.offset) ?? []
  const extended = ours.config?.extendedCapabilities.list.map((cap) => cap.offset) ?? []
  if (!theirs.accessDenied) same('capability offsets', [...standard, ...extended], theirs.capOffsets)
  const portType = theirs.portType === undefined ? undefined : PORT_TYPE_WORDS[theirs.portType]
  if (theirs.portType !== undefined) same('port type', ours.pcieType, portType)
  else if (!theirs.accessDenied && theirs.capOffsets.length > 0) same('no PCIe capability', ours.pcieType, undefined)
  if (theirs.acsCap !== undefined) same('ACS cap', typeof ours.acs === 'object' ? ours.acs.cap & 0x7f : ours.acs, theirs.acsCap)
  if (theirs.acsCtl !== undefined) same('ACS ctl', typeof ours.acs === 'object' ? ours.acs.ctl & 0x7f : ours.acs, theirs.acsCtl)
  if (theirs.acsCap === undefined && ours.config?.extendedCapabilities.complete) same('no ACS', ours.acs, undefined)
  if (theirs.atsEnabled !== undefined) {
    same('ATS', typeof ours.ats === 'object' ? {enabled: ours.ats.enabled, stu: ours.ats.stu, iqd: ours.ats.invalidateQueueDepth} : ours.ats, {
      enabled: theirs.atsEnabled,
      stu: theirs.atsStu,
      iqd: theirs.atsQueueDepth,
    })
  }
  if (theirs.priEnabled !== undefined) same('PRI', ours.pri, {enabled: theirs.priEnabled})
  if (theirs.pasid !== undefined) same('PASID', ours.pasid, {enabled: theirs.pasid.enabled, maxWidth: theirs.pasid.width, exec: theirs.pasid.exec, priv: theirs.pasid.priv})
  if (theirs.sriov !== undefined) {
    const mine = typeof ours.sriov === 'object' ? ours.sriov : undefined
    same(
      'SR-IOV',
      mine && {initial: mine.initialVfs, total: mine.totalVfs, num: mine.numVfs, offset: mine.firstVfOffset, stride: mine.vfStride, vfDevice: mine.vfDeviceId},
      theirs.sriov,
    )
  }
  if (theirs.ariNextFunction !== undefined) same('ARI next function', ours.ari, {nextFunction: theirs.ariNextFunction})
  if (theirs.devCapFlr !== undefined) same('DevCap FLR', typeof ours.flr === 'object' ? ours.flr.pcie : ours.flr, theirs.devCapFlr)
  if (theirs.afFlr !== undefined) same('AF FLR', typeof ours.flr === 'object' ? ours.flr.af : ours.flr, theirs.afFlr)
  if (theirs.noSoftReset !== undefined) same('PM No_Soft_Reset', ours.noSoftReset, theirs.noSoftReset)
  if (theirs.buses !== undefined) same('bridge buses', {secondary: ours.secondaryBus, subordinate: ours.subordinateBus}, {secondary: theirs.buses.secondary, subordinate: theirs.buses.subordinate})
  if (theirs.iommuGroup !== undefined) same('IOMMU group', ours.iommuGroup, theirs.iommuGroup)
  if (theirs.driver !== undefined) same('driver', ours.driver, theirs.driver)
  return compared
}

function compareTopology(topology: PciTopology, lspciText: string, where: string): Tally {
  const theirs = lspciByBdf(parseLspciVerbose(lspciText))
  expect([...topology.devices.keys()], `${where}: same devices as lspci`).toEqual([...theirs.keys()])
  let facts = 0
  for (const [bdf, fact] of theirs) {
    const ours = topology.devices.get(bdf)
    expect(ours, `${where}: ${bdf}`).toBeDefined()
    if (ours) facts += compareDevice(ours, fact, where)
  }
  return {devices: theirs.size, facts}
}

describe('decoder agrees with lspci', () => {
  it('pciutils (lspci) is installed: CI must `apt-get install pciutils`', () => {
    expect(haveLspci, 'lspci not found: install the Debian package pciutils to run the differential tests').toBe(true)
  })

  const run = haveLspci ? it : it.skip
  for (const name of dumps) {
    run(`real dump ${name}`, () => {
      const file = path.join(dataDir, name)
      const text = readFileSync(file, 'utf8')
      const {topology} = topologyFromLspciDump(text)
      let lspciInput = file
      let lspciText: string
      try {
        lspciText = runLspci(['-F', lspciInput, '-D', '-nn', '-vvv'])
      } catch {
        // lspci rejects this dump (SOURCES.md says which ones): give it our re-serialized bytes.
        const clean = parseLspciDump(text)
          .devices.map((device) => formatHexDump(device.bdf, 'device', device.config))
          .join('\n')
        lspciInput = path.join(scratch, name)
        writeFileSync(lspciInput, clean)
        lspciText = runLspci(['-F', lspciInput, '-D', '-nn', '-vvv'])
      }
      const tally = compareTopology(topology, lspciText, name)
      expect(tally.devices).toBeGreaterThan(0)
      expect(tally.facts).toBeGreaterThan(tally.devices)
    })
  }

  for (const lab of labs) {
    run(`lab snapshot ${lab} (lspci -A linux-sysfs)`, () => {
      const snapshot = path.join(repoRoot, 'sysfs-fixtures', lab)
      const copy = path.join(scratch, lab)
      cpSync(path.join(snapshot, 'sys'), path.join(copy, 'sys'), {recursive: true, verbatimSymlinks: true})
      for (const device of readdirSync(path.join(copy, 'sys/bus/pci/devices'))) {
        const resource = path.join(copy, 'sys/bus/pci/devices', device, 'resource')
        if (!existsSync(resource)) writeFileSync(resource, '')
      }
      const loaded = loadTopology(new RootedHostFs(snapshot))
      expect(loaded.ok).toBe(true)
      if (!loaded.ok) return
      const lspciText = runLspci(['-A', 'linux-sysfs', '-O', `sysfs.path=${path.join(copy, 'sys/bus/pci')}`, '-D', '-nn', '-vvv'])
      const tally = compareTopology(loaded.topology, lspciText, lab)
      expect(tally.devices).toBeGreaterThan(0)
    })
  }
  run('every fact the issue names was compared on real bytes at least once', () => {
    for (const label of ['port type', 'ACS cap', 'ACS ctl', 'ATS', 'PRI', 'PASID', 'SR-IOV', 'ARI next function', 'DevCap FLR', 'AF FLR', 'PM No_Soft_Reset', 'bridge buses', 'capability offsets', 'all-ones config']) {
      expect(comparedByLabel.get(label) ?? 0, label).toBeGreaterThan(0)
    }
  })
})
