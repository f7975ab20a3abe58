/**
 * Identity (passthrough) default domains are asked for with `iommu=pt` on x86 only
 * (arch/x86/kernel/pci-dma.c); an Arm kernel knows just `iommu.passthrough=1`
 * (drivers/iommu/iommu.c). The checks name the parameter of the platform the model sees — or the
 * one the boot actually used. Real data: lab-passthrough (VT-d, booted with iommu=pt) and
 * lab-smmuv3 (SMMUv3 under Debian's arm64 kernel), its groups' type set to identity. An Arm kernel
 * has no `iommu=` at all: booted with `iommu=pt` it keeps translated domains, and the parameter is
 * one with no effect, not a passthrough request.
 */
import {cpSync, readdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {assessHost} from '../src/checks/assess.js'
import {parseKernelParameters} from '../src/model/kernel-parameters.js'
import {openRoot} from '../src/host/snapshot.js'
import {fixturesDir} from './support/paths.js'
import {modelAt} from './support/model.js'
import {scratchDir} from './support/scratch.js'

async function defaultDomainResult(root: string) {
  const {results} = assessHost(await modelAt(openRoot(root)))
  const result = results.find((r) => r.id === 'platform.default-domain')
  expect(result?.outcome).toBe('warn')
  return {text: JSON.stringify(result), remediation: result?.remediation ?? [], evidence: result?.evidence.map((e) => e.fact) ?? []}
}

/** lab-smmuv3 with every group's default domain identity, and the command line given. */
function armIdentity(cmdline?: string): string {
  const root = scratchDir('vtd-arm-pt-')
  cpSync(path.join(fixturesDir, 'lab-smmuv3'), root, {recursive: true, verbatimSymlinks: true})
  const groups = path.join(root, 'sys/kernel/iommu_groups')
  for (const id of readdirSync(groups)) writeFileSync(path.join(groups, id, 'type'), 'identity\n')
  if (cmdline !== undefined) writeFileSync(path.join(root, 'proc/cmdline'), `${cmdline}\n`)
  return root
}

describe('the passthrough parameter is worded for the platform', () => {
  it('VT-d booted with iommu=pt: the evidence and the fix name iommu=pt', async () => {
    const {evidence, remediation} = await defaultDomainResult(path.join(fixturesDir, 'lab-passthrough'))
    expect(evidence.join('\n')).toMatch(/identity — identity \/ passthrough \(iommu=pt\)/)
    expect(remediation[0]).toMatch(/^for host-side DMA protection, drop `iommu=pt` /)
  })

  it('Arm SMMUv3 with identity groups: iommu.passthrough=1, never iommu=pt (which an Arm kernel does not know)', async () => {
    const {text, evidence, remediation} = await defaultDomainResult(armIdentity())
    expect(evidence.join('\n')).toMatch(/identity — identity \/ passthrough \(iommu\.passthrough=1\)/)
    expect(remediation[0]).toMatch(/^for host-side DMA protection, drop `iommu\.passthrough=1` /)
    expect(text).not.toContain('iommu=pt')
  })

  it('the parameter the boot used is the one named', async () => {
    const {evidence, remediation} = await defaultDomainResult(armIdentity('console=ttyAMA0 iommu.passthrough=on'))
    expect(evidence).toContain('iommu.passthrough=on requests identity')
    expect(remediation[0]).toContain('drop `iommu.passthrough=on`')
  })

  it('an Arm kernel ignores iommu=pt: a parameter with no effect, not a request for identity domains', async () => {
    const root = scratchDir('vtd-arm-iommu-pt-')
    cpSync(path.join(fixturesDir, 'lab-smmuv3'), root, {recursive: true, verbatimSymlinks: true})
    writeFileSync(path.join(root, 'proc/cmdline'), 'console=ttyAMA0 iommu=pt\n')
    const model = await modelAt(openRoot(root))
    expect(model.architecture).toBe('arm')
    expect(model.cmdline?.defaultDomain).toBeUndefined()
    expect(model.passthroughParameter).toBe('iommu.passthrough=1')
    const {results} = assessHost(model)
    const parameters = results.find((r) => r.id === 'platform.kernel-parameters')
    expect(parameters?.outcome).toBe('warn')
    expect(parameters?.evidence.map((e) => e.fact).join('\n')).toMatch(/^iommu=pt: iommu= exists only on x86 .*an Arm kernel ignores it/m)
    expect(parameters?.remediation).toContain('remove `iommu=pt` (it does nothing)')
    const domain = results.find((r) => r.id === 'platform.default-domain')
    expect(JSON.stringify(domain)).not.toContain('iommu=pt requests identity')
  })

  it('x86 keeps iommu=pt, and a command line read without the architecture keeps it too', () => {
    expect(parseKernelParameters('iommu=pt', 'x86').defaultDomain).toEqual({type: 'identity', via: 'iommu=pt'})
    expect(parseKernelParameters('iommu=pt').defaultDomain).toEqual({type: 'identity', via: 'iommu=pt'})
    expect(parseKernelParameters('iommu=pt iommu.passthrough=0', 'arm')).toMatchObject({defaultDomain: {type: 'translated', via: 'iommu.passthrough=0'}, x86OnlyIgnored: ['iommu=pt']})
  })
})
