/** `vtd-check groups` end to end through oclif, on real lab snapshots and real lspci text. */
import path from 'node:path'
import {afterEach, describe, expect, it, vi} from 'vitest'
import Groups from '../commands/groups.js'
import type {GroupingReport} from '../src/report/groups.js'

const root = path.resolve(import.meta.dirname, '..')
const shared = path.resolve(root, 'test/fixtures/real/pci')

async function run(args: string[]): Promise<{value: GroupingReport; out: string}> {
  let out = ''
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk)
    return true
  })
  try {
    const value = (await Groups.run(args, root)) as GroupingReport
    return {value, out}
  } finally {
    spy.mockRestore()
  }
}

afterEach(() => {
  process.exitCode = undefined
})

describe('groups command', () => {
  it('lab-pch-acs-less-root-ports: explains the merged group, names the ports at fault, agrees with the kernel', async () => {
    const {value, out} = await run(['--root', 'sysfs-fixtures/lab-pch-acs-less-root-ports'])
    expect(value.mode).toBe('kernel')
    expect(value.crossCheck?.agree).toBe(true)
    const big = value.groups.find((g) => g.devices.includes('0000:01:00.0'))
    expect(big?.devices).toHaveLength(8)
    expect(big?.atFault.map((f) => f.bdf)).toContain('0000:00:1c.0')
    expect(out).toMatch(/◀ at fault: no ACS capability/)
    expect(out).toMatch(/why: 00:1c\.0, 00:1c\.1, 00:1c\.2 and 00:1c\.3 are functions of one multifunction device without ACS isolation \(no ACS capability\)/)
    expect(out).toMatch(/why: 01:00\.0 sits below 00:1c\.0, which has no ACS capability/)
    expect(process.exitCode).toBe(0)
  })

  it('lab-iommu-off --predict: groups computed with the IOMMU off, assumption stated', async () => {
    const {value} = await run(['--root', 'sysfs-fixtures/lab-iommu-off', '--predict', '--json'])
    expect(value.mode).toBe('predicted')
    expect(value.groups.length).toBeGreaterThan(3)
    expect(value.crossCheck).toBeUndefined()
    expect(value.assumptions[0]).toMatch(/IOMMU is on/)
    // groups[].devices[] as in DESIGN.md, plus the reasons; plain JSON (no bigint, no Map).
    const json = JSON.parse(JSON.stringify(value)) as GroupingReport
    expect(json.groups.every((g) => Array.isArray(g.devices) && typeof g.id === 'number' && Array.isArray(g.reasons))).toBe(true)
  })

  it('--why on a real lspci -vvv text: the GPU must go with its audio function because of the PEG port', async () => {
    const {out} = await run(['--lspci-verbose', path.join(shared, 'coffeelake-h-laptop-aspm-lspci-vvv.txt'), '--why', '01:00.0'])
    expect(out).toMatch(/verdict: shares its group with endpoints: assign together with 0000:01:00\.1/)
    expect(out).toMatch(/why: 01:00\.0 sits below 00:01\.0, which has no ACS capability/)
  })

  it('--acs-override prints the security warning and marks split groups', async () => {
    const {value, out} = await run(['--lspci-verbose', path.join(shared, 'coffeelake-h-laptop-aspm-lspci-vvv.txt'), '--acs-override', 'downstream,multifunction'])
    expect(value.acsOverride?.warning).toMatch(/not truly isolated/)
    expect(out).toMatch(/WARNING: pcie_acs_override/)
    expect(value.groups.find((g) => g.devices.includes('0000:01:00.0'))?.splitByAcsOverride).toBe(true)
  })

  it('--lspci-dump (real h310 lspci -nnvvvxxxx): kernel groups from the dump explained, replay agrees', async () => {
    const {value, out} = await run(['--lspci-dump', path.join(shared, 'h310-coffeelake-desktop-gpu-lspci-xxxx.txt')])
    expect(value.crossCheck?.agree).toBe(true)
    expect(value.crossCheck?.compared).toBe(14)
    // PEG root port 00:01.0 + GPU VGA + GPU audio = one group (notes: group 1).
    expect(value.groups.find((g) => g.id === 1)?.devices.sort()).toEqual(['0000:00:01.0', '0000:01:00.0', '0000:01:00.1'])
    expect(out).toMatch(/kernel groups and the replay agree \(14 devices compared\)/)
  })

  it('a bad --acs-override is a usage error (exit 2), not a stack trace', async () => {
    await expect(run(['--root', 'sysfs-fixtures/lab-switch', '--acs-override', 'sideways'])).rejects.toMatchObject({oclif: {exit: 2}})
  })
})
