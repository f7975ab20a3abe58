/**
 * An SMMU fault names a StreamID, not a PCI function. On a snapshot with an IORT the StreamID is
 * traced back the way the kernel maps it forward (iort_pci_iommu_init for every DMA alias,
 * iort_node_map_id through the root complex): the lab's own injected DMA (lab-injected.txt) is the
 * answer — edu 00:01.0 on its own RID, 02:01.0 behind the PCIe-to-PCI bridge 01:00.0 on the bridge
 * alias 02:00.0, the unbound 03:00.0 on its RID.
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import Faults from '../commands/faults.js'
import {decodeIort} from '../src/decode/iort.js'
import {smmuNodeOf} from '../src/replay/smmu-stream-ids.js'
import {captureCommandOutput, runCommand} from './support/command-output.js'
import {fixturesDir, realData} from './support/paths.js'

const output = captureCommandOutput()
const lab = path.join(fixturesDir, 'lab-smmuv3')

interface TracedJson {
  streamId?: string
  explanation: {summary: string}
  trace?: {exists: boolean; devices: Array<{bdf: string; relation: string; via?: string; driver?: string}>}
}

describe('SMMU StreamIDs traced to PCI functions through the IORT (lab-smmuv3)', () => {
  it('every fault of the lab reaches the function the lab injected DMA from', async () => {
    const {stdout, exit} = await runCommand(output, Faults, ['--root', lab, '--json'])
    expect(exit).toBe(1)
    const faults = (JSON.parse(stdout) as {faults: TracedJson[]}).faults
    const traced = faults.map((f) => [f.streamId, f.trace?.devices.map((d) => [d.bdf, d.relation, d.via ?? null])])
    expect(traced).toEqual([
      ['0x8', [['0000:00:01.0', 'self', null]]],
      ['0x8', [['0000:00:01.0', 'self', null]]],
      ['0x200', [['0000:02:01.0', 'alias', '0000:01:00.0']]],
      ['0x300', [['0000:03:00.0', 'self', null]]],
    ])
    // The injected requesters, in order (dma-read/dma-write lines).
    const injected = readFileSync(path.join(lab, 'lab-injected.txt'), 'utf8').split('\n').filter((l) => /^dma-/.test(l)).map((l) => l.split(' ')[1])
    expect(traced.map((t) => (t[1] as string[][])[0]![0])).toEqual(injected)
    expect(faults[2]!.explanation.summary).toMatch(/^StreamID 0x200 on SMMU arm-smmu-v3\.0\.auto \(0000:02:01\.0, driver pci-stub, through 0000:01:00\.0's DMA alias\)/)
  })

  it('the text names the traced function and its evidence the IORT path', async () => {
    const {stdout} = await runCommand(output, Faults, ['--root', lab])
    expect(stdout).toMatch(/device: 0000:00:01\.0 \(its requester ID maps to StreamID 0x8 on SMMUv3 at 0x48 \(0x9050000\) \(IORT\), driver pci-stub, group 3\)/)
  })

  it('the log alone (no snapshot) traces nothing and says StreamID only', async () => {
    const {stdout} = await runCommand(output, Faults, [path.join(lab, 'dmesg.txt'), '--json'])
    const faults = (JSON.parse(stdout) as {faults: TracedJson[]}).faults
    expect(faults.map((f) => f.trace)).toEqual([undefined, undefined, undefined, undefined])
    expect(faults[0]!.explanation.summary).toMatch(/^StreamID 0x8 on SMMU arm-smmu-v3\.0\.auto read address 0/)
  })
})

describe('which IORT SMMU node a fault line\'s SMMU is', () => {
  // The Snapdragon X laptop: two SMMUv1/v2 (0x15000000, 0x3da0000) and one SMMUv3 (0x15400000).
  const xps = decodeIort(readFileSync(path.join(realData, 'iort/dell-xps-13-9345-2ff9e0f6.dat')))

  it('the only SMMUv3 of the table, without sysfs', () => {
    expect(smmuNodeOf(xps, 'arm-smmu-v3', 'arm-smmu-v3.0.auto')?.baseAddress).toBe(0x15400000n)
  })

  it('two SMMUv1/v2: only the sysfs unit (named after its base address) tells them apart', () => {
    expect(smmuNodeOf(xps, 'arm-smmu', '3da0000.iommu')).toBeUndefined()
    const units = [{name: 'smmu.0x0000000015000000', kernelDevice: '15000000.iommu'}, {name: 'smmu.0x0000000003da0000', kernelDevice: '3da0000.iommu'}]
    expect(smmuNodeOf(xps, 'arm-smmu', '3da0000.iommu', units)?.offset).toBe(0x37c)
    expect(smmuNodeOf(xps, 'arm-smmu', '15000000.iommu', units)?.offset).toBe(0x30)
  })
})
