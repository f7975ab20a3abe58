/**
 * A port that HAS ACS (SV RR CR UF in its capability) with those control bits off does not lack
 * them: nobody enabled them. The model says once why this boot's kernel never requested ACS
 * (model.acsNotRequested), and groups, device and check state that same sentence — never
 * "ACS lacks …". Real data: lab-smmuv3-dt (device-tree SMMU, Debian 6.1: ports read cap SV TB RR
 * CR UF DT, ctl 0), lab-iommu-off (intel_iommu=off: the same ports, Control 0) and lab-amd-vi-off
 * (amd_iommu=off, yet detect_ivrs() requested ACS: Control reads SV RR CR UF).
 */
import {cpSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import Device from '../commands/device.js'
import Groups from '../commands/groups.js'
import {assessHost} from '../src/checks/assess.js'
import {openRoot} from '../src/host/snapshot.js'
import {ACS, REQ_ACS_FLAGS} from '../src/model/pci.js'
import {replayGrouping} from '../src/replay/grouping.js'
import {captureCommandOutput, runCommand} from './support/command-output.js'
import {fn, port, topology} from './fixtures/groups/make-topology.js'
import {modelAt} from './support/model.js'
import {scratchDir} from './support/scratch.js'

const fixtures = path.resolve(import.meta.dirname, '..', 'sysfs-fixtures')
const output = captureCommandOutput()
const DT_WHY = 'the SMMU comes from the device tree (no ACPI, no IORT), whose of_iommu_configure() requests ACS only after the PCI devices were enumerated'

describe('ACS implemented but not enabled is said as such', () => {
  it('the replay names the bits the port has but nobody enabled, with why, and never says "lacks"', () => {
    const t = topology([port('0000:00:1c.0', 0x05, {acs: {cap: ACS.SV | ACS.RR | ACS.CR | ACS.UF, ctl: ACS.SV | ACS.UF}}), fn({bdf: '0000:05:00.0'})])
    const asRead = replayGrouping(t, {assumeKernelEnablesAcs: false})
    expect(asRead.groups[0]?.reasons).toEqual(['05:00.0 sits below 00:1c.0 whose ACS has RR and CR but they are not enabled (ACS Control as read)'])
    const told = replayGrouping(t, {assumeKernelEnablesAcs: false, acsNotEnabledBecause: 'intel_iommu=off: the VT-d driver did not request ACS'})
    expect(told.groups[0]?.reasons[0]).toBe('05:00.0 sits below 00:1c.0 whose ACS has RR and CR but they are not enabled (intel_iommu=off: the VT-d driver did not request ACS)')
  })

  it('the model tells why from the boot: device tree, intel_iommu=off; not amd_iommu=off (its IVRS still requested ACS), not a kernel that requested it', async () => {
    expect((await modelAt(openRoot(path.join(fixtures, 'lab-smmuv3-dt')))).acsNotRequested).toEqual({because: DT_WHY, iommuOn: true})
    const off = await modelAt(openRoot(path.join(fixtures, 'lab-iommu-off')))
    expect(off.acsNotRequested).toEqual({because: 'intel_iommu=off: the VT-d driver did not request ACS (pci_request_acs())', iommuOn: false})
    // The oracle for "requested": the real AMD kernel booted with amd_iommu=off left SV RR CR UF on.
    const amdOff = await modelAt(openRoot(path.join(fixtures, 'lab-amd-vi-off')))
    const amdPort = amdOff.topology.devices.get('0000:00:1c.0')?.acs
    expect(typeof amdPort === 'object' && (amdPort.ctl & REQ_ACS_FLAGS) === REQ_ACS_FLAGS).toBe(true)
    expect(amdOff.acsNotRequested).toBeUndefined()
    for (const dir of ['lab-iommu-on', 'lab-smmuv3', 'lab-amd-vi']) expect((await modelAt(openRoot(path.join(fixtures, dir)))).acsNotRequested, dir).toBeUndefined()
  })

  it('groups and device state the one sentence for lab-smmuv3-dt (text and JSON)', async () => {
    const root = path.join(fixtures, 'lab-smmuv3-dt')
    const groupsText = await runCommand(output, Groups, ['--root', root])
    expect(groupsText.stdout).toContain(`at fault: ACS has SV, RR, CR and UF but they are not enabled (${DT_WHY})`)
    expect(groupsText.stdout).not.toMatch(/lacks/)
    const mermaid = await runCommand(output, Groups, ['--root', root, '--format', 'mermaid'])
    expect(mermaid.stdout).toContain('ACS SV RR CR UF not enabled')
    expect(mermaid.stdout).not.toMatch(/lacks/)
    const deviceText = await runCommand(output, Device, ['0000:01:00.0', '--root', root])
    expect(deviceText.stdout).toContain(`→ does not isolate: SV, RR, CR, UF implemented but not enabled (${DT_WHY})`)
    const deviceJson = JSON.parse((await runCommand(output, Device, ['0000:01:00.0', '--root', root, '--json'])).stdout) as {upstream: Array<{acs: {missing: string[]; notEnabledBecause?: string}}>}
    expect(deviceJson.upstream[0]?.acs).toMatchObject({missing: ['SV', 'RR', 'CR', 'UF'], notEnabledBecause: DT_WHY})
  })

  it('device on lab-iommu-off says intel_iommu=off left the ports\' ACS off', async () => {
    const {stdout} = await runCommand(output, Device, ['0000:01:00.0', '--root', path.join(fixtures, 'lab-iommu-off')])
    expect(stdout).toContain('does not isolate: SV, RR, CR, UF implemented but not enabled (intel_iommu=off: the VT-d driver did not request ACS (pci_request_acs()))')
  })

  it('device names the boot parameter that cleared one port\'s redirect bits, as groups does (lab-iommu-on booted with pci=disable_acs_redir=0000:00:1c.0)', async () => {
    const root = scratchDir('vtd-acs-redir-')
    cpSync(path.join(fixtures, 'lab-iommu-on'), root, {recursive: true, verbatimSymlinks: true})
    writeFileSync(path.join(root, 'proc/cmdline'), `${readFileSync(path.join(root, 'proc/cmdline'), 'utf8').trim()} pci=disable_acs_redir=0000:00:1c.0\n`)
    // What that kernel leaves in the port's ACS Control: RR, CR and EC cleared (pci_disable_acs_redir()).
    const config = realpathSync(path.join(root, 'sys/bus/pci/devices/0000:00:1c.0/config'))
    const bytes = readFileSync(config)
    let at = 0x100
    while (at !== 0 && (bytes.readUInt32LE(at) & 0xffff) !== 0x000d) at = bytes.readUInt32LE(at) >>> 20
    expect(at).toBeGreaterThan(0)
    bytes.writeUInt16LE(bytes.readUInt16LE(at + 6) & ~(ACS.RR | ACS.CR | ACS.EC), at + 6)
    writeFileSync(config, bytes)
    const why = 'pci=disable_acs_redir=…0000:00:1c.0 clears RR, CR and EC'
    const deviceText = await runCommand(output, Device, ['0000:01:00.0', '--root', root])
    expect(deviceText.stdout).toContain(`→ does not isolate: RR, CR implemented but not enabled (${why})`)
    const groupsText = await runCommand(output, Groups, ['--root', root])
    expect(groupsText.stdout).toContain(`ACS has RR and CR but they are not enabled (${why})`)
    // The port's own view says the same.
    const other = JSON.parse((await runCommand(output, Device, ['0000:00:1c.0', '--root', root, '--json'])).stdout) as {acs: {missing: string[]; notEnabledBecause?: string}}
    expect(other.acs).toMatchObject({missing: ['RR', 'CR'], notEnabledBecause: why})
  })

  it('check: a group shared on a device-tree boot points at the boot, not at another slot', async () => {
    // lab-smmuv3-dt with its two endpoints in one group (as two ACS-capable ports left off would give below one port).
    const root = scratchDir('vtd-acs-dt-')
    cpSync(path.join(fixtures, 'lab-smmuv3-dt'), root, {recursive: true, verbatimSymlinks: true})
    const device = 'sys/devices/platform/4010000000.pcie/pci0000:00/0000:00:03.0/0000:02:00.0'
    rmSync(path.join(root, device, 'iommu_group'))
    symlinkSync('../../../../../../kernel/iommu_groups/0', path.join(root, device, 'iommu_group'))
    rmSync(path.join(root, 'sys/kernel/iommu_groups/1/devices/0000:02:00.0'))
    symlinkSync(`../../../../${device.slice('sys/'.length)}`, path.join(root, 'sys/kernel/iommu_groups/0/devices/0000:02:00.0'))
    const {results} = assessHost(await modelAt(openRoot(root)), {devices: ['0000:01:00.0']})
    const byId = (id: string) => results.find((r) => r.id === id)
    for (const id of ['isolation.shared-groups', 'device.isolation']) {
      const result = byId(id)
      expect(result?.outcome, id).toBe('warn')
      expect(result?.evidence.map((e) => e.fact), id).toContain(`the kernel did not enable ACS on any port: ${DT_WHY}`)
      expect(result?.remediation.join('\n'), id).toMatch(/^boot with ACPI \(an IORT table\) instead of the device tree/)
    }
  })
})
