/**
 * DMAR lint on the real tables (expectations from test/fixtures/real/dmar/SOURCES.md remarks and
 * reading the .dsl files), on hand-built tables for each rule, and scope resolution against a
 * real lspci topology.
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {lintDmar, lintUnits} from '../src/checks/dmar-lint.js'
import {decodeUnit} from '../src/model/units.js'
import type {CheckResult} from '../src/checks/outcome.js'
import {decodeDmar} from '../src/decode/dmar.js'
import {unitsFromLog} from '../src/decode/vtd-registers.js'
import {interruptSources, resolveDmarScopes} from '../src/model/dmar-scope.js'
import {topologyFromLspciDump} from '../src/model/topology.js'
import {andd, atsr, dmarTable, drhd, rawStructure, rhsa, rmrr, satc, topologyOf} from './helpers/dmar-build.js'
import {dmarDataDir} from './helpers/dmar-dsl.js'
import {realData} from './support/paths.js'

const real = (name: string) => decodeDmar(new Uint8Array(readFileSync(path.join(dmarDataDir, `${name}.dat`))))
const outcome = (results: CheckResult[], id: string): string => {
  const r = results.find((x) => x.id === id)
  if (!r) throw new Error(`no result ${id}`)
  return r.outcome
}
const find = (results: CheckResult[], id: string): CheckResult => {
  const r = results.find((x) => x.id === id)
  if (!r) throw new Error(`no result ${id}`)
  return r
}

describe('lint on real firmware tables (SOURCES.md remarks)', () => {
  it('zero DRHD register base fails (IdeaPad Flex 15, ThinkPad E15 Gen 2)', () => {
    for (const name of ['lenovo-ideapadflex15-haswell-drhd-zero-27d1e500', 'lenovo-thinkpad-e15-gen2-tigerlake-drhd-zero-90513e67']) {
      const r = lintDmar(real(name))
      expect(outcome(r, 'dmar.drhd-register-base'), name).toBe('fail')
      expect(find(r, 'dmar.drhd-register-base').evidence.some((e) => e.fact.includes('register base 0'))).toBe(true)
    }
  })

  it('RMRR base = limit = 0 (HP 6730b): malformed range and page zero', () => {
    const r = lintDmar(real('hp-compaq-6730b-core2-rmrr-zero-aef2c7fe'))
    expect(outcome(r, 'dmar.rmrr-range')).toBe('fail')
    expect(find(r, 'dmar.rmrr-range').evidence[0]?.fact).toContain('limit+1 is not 4 KiB aligned')
    expect(outcome(r, 'dmar.rmrr-page-zero')).toBe('warn')
  })

  it('RMRR 0x0-0xfff (HP 8440p): aligned, but covers page zero', () => {
    const r = lintDmar(real('hp-elitebook-8440p-arrandale-rmrr-page0-8457940e'))
    expect(outcome(r, 'dmar.rmrr-range')).toBe('pass')
    expect(outcome(r, 'dmar.rmrr-page-zero')).toBe('warn')
    expect(find(r, 'dmar.rmrr-page-zero').evidence[0]?.fact).toContain('[0x0-0xfff]')
  })

  it('Google ecclesia test table: RHSAs for absent units, no catch-all', () => {
    const r = lintDmar(real('google-ecclesia-xeon-scalable-2s-7c959aaa'))
    expect(outcome(r, 'dmar.rhsa')).toBe('warn')
    // .dsl: RHSA bases 9D7FC000 and AAFFC000; DRHD bases are others
    expect(find(r, 'dmar.rhsa').evidence.map((e) => e.fact.match(/base (0x[0-9a-f]+)/)?.[1])).toEqual(['0x9d7fc000', '0xaaffc000'])
    expect(outcome(r, 'dmar.coverage')).toBe('warn')
  })

  it('X2APIC_OPT_OUT without INTR_REMAP (DL360 G7, flags 0x2)', () => {
    const r = lintDmar(real('hp-proliant-dl360-g7-westmere-ep-8b62d3c6'))
    expect(outcome(r, 'dmar.intr-remap')).toBe('warn')
    expect(find(r, 'dmar.x2apic-opt-out').summary).toContain('without INTR_REMAP')
    expect(outcome(r, 'dmar.ioapic-scope')).toBe('not-applicable')
  })

  it('X2APIC_OPT_OUT with INTR_REMAP (Z97X, flags 0x3) suggests the override', () => {
    const r = lintDmar(real('gigabyte-z97x-gaming5-broadwell-fc362c15'))
    expect(outcome(r, 'dmar.x2apic-opt-out')).toBe('warn')
    expect(find(r, 'dmar.x2apic-opt-out').remediation.join(' ')).toContain('intremap=no_x2apic_optout')
  })

  it('DMA_CTRL_PLATFORM_OPT_IN only (IdeaPad Gaming 3, flags 0x4): no interrupt remapping', () => {
    expect(outcome(lintDmar(real('lenovo-ideapad-gaming3-cometlake-h-996426a3')), 'dmar.intr-remap')).toBe('warn')
  })

  it('odd lengths and 10-byte scopes (DL380e Gen8, SuperServer) lint clean on structure lengths', () => {
    for (const name of ['hp-proliant-dl380e-gen8-sandybridge-en-4d4ed189', 'supermicro-superserver-xeon-e5-2s-033dfa93']) {
      const r = lintDmar(real(name))
      expect(outcome(r, 'dmar.structure-length'), name).toBe('pass')
      expect(outcome(r, 'dmar.scope-types'), name).toBe('pass')
    }
  })

  it('QEMU 7.2 lists devices one by one (no INCLUDE_PCI_ALL)', () => {
    const r = lintDmar(real('qemu-q35-intel-iommu-default-2791ff4c'))
    expect(outcome(r, 'dmar.include-all')).toBe('pass')
    expect(outcome(r, 'dmar.coverage')).toBe('warn')
  })

  it('Surface Go ANDDs are each under a DRHD namespace scope', () => {
    const r = lintDmar(real('microsoft-surface-go-kabylake-04c47bfd'))
    expect(outcome(r, 'dmar.andd')).toBe('pass')
    expect(find(r, 'dmar.andd').evidence).toHaveLength(7)
  })

  it('Framework 13 SATC: two root-complex devices (00:02.0, 00:0b.0), ATC_REQUIRED', () => {
    const r = lintDmar(real('framework-laptop13-meteorlake-d7ce0b17'))
    expect(outcome(r, 'dmar.satc')).toBe('pass')
    expect(find(r, 'dmar.satc').summary).toBe('2 SATC device(s), ATC required')
    expect(find(r, 'dmar.platform-opt-in').summary).toContain('pre-boot DMA')
  })

  it('topology lints are not-applicable without a topology', () => {
    const r = lintDmar(real('intel-x99-haswell-e-3d918b14'))
    expect(outcome(r, 'dmar.scope-devices')).toBe('not-applicable')
    expect(outcome(r, 'dmar.atsr-coverage')).toBe('not-applicable')
    expect(r.some((x) => x.id === 'dmar.log-errors')).toBe(false)
  })
})

describe('scope resolution against a real lspci topology', () => {
  // Table: an Intel X99 (Haswell-E) board. Topology: a Huananzhi X99-QD4 (Xeon E5 v3 root ports
  // 00:01.0/01.1/02.0/03.0, C220-family PCH) from lspci -xxxx. Not the same machine, but the same
  // platform, so the table's paths name real functions there (read by hand from both files).
  const table = real('intel-x99-haswell-e-3d918b14')
  const {topology} = topologyFromLspciDump(readFileSync(path.join(realData, 'pci/huananzhi-x99-qd4-xeon-e5v3-lspci-xxxx.txt'), 'utf8'))
  const resolution = resolveDmarScopes(table, topology)

  it('resolves each scope path to a BDF', () => {
    const got = resolution.scopes.map((s) => `${s.structureType} ${s.status} ${s.bdf ?? ''}`)
    expect(got).toEqual([
      'DRHD resolved 0000:00:1b.0',
      'DRHD not-pci 0000:f0:1f.7',
      'DRHD not-pci 0000:00:05.4',
      'DRHD not-pci 0000:f0:0f.0',
      'RMRR resolved 0000:00:14.0',
      'RMRR resolved 0000:00:1a.0',
      'RMRR resolved 0000:00:1d.0',
      'ATSR resolved 0000:00:01.0',
      'ATSR resolved 0000:00:01.1',
      'ATSR resolved 0000:00:02.0',
      'ATSR resolved 0000:00:03.0',
      // 00:03.2 is not in this board's lspci
      'ATSR absent 0000:00:03.2',
    ])
  })

  it('owner: explicit scope for HD audio, the catch-all for the rest', () => {
    expect(resolution.owners.get('0000:00:1b.0')).toMatchObject({via: 'scope', registerBase: 0xfbffd000n})
    expect(resolution.owners.get('0000:05:00.0')).toMatchObject({via: 'include-all', registerBase: 0xfbffc000n})
    expect(resolution.uncovered).toEqual([])
  })

  it('lint with the topology: USB RMRRs are relaxable, the absent ATSR port is reported', () => {
    const r = lintDmar(table, topology, {resolution})
    expect(outcome(r, 'dmar.rmrr-devices')).toBe('pass')
    expect(find(r, 'dmar.rmrr-devices').evidence).toHaveLength(3)
    expect(outcome(r, 'dmar.scope-devices')).toBe('warn')
    expect(find(r, 'dmar.scope-devices').evidence[0]?.fact).toContain('0000:00:03.2')
    expect(outcome(r, 'dmar.coverage')).toBe('pass')
  })
})

describe('lint rules on hand-built tables', () => {
  const base = 0xfed90000n
  const catchAll = drhd({flags: 1, base: 0xfed91000n, scopes: [{type: 3, enumerationId: 2, startBus: 0xf0, path: [[0x1f, 0]]}]})

  it('a clean table passes every table-only lint', () => {
    const r = lintDmar(decodeDmar(dmarTable({structures: [drhd({base, scopes: [{type: 1, startBus: 0, path: [[2, 0]]}]}), catchAll]})))
    const notOk = r.filter((x) => x.outcome !== 'pass' && x.outcome !== 'not-applicable')
    expect(notOk.map((x) => x.id)).toEqual([])
  })

  it('checksum', () => {
    expect(outcome(lintDmar(decodeDmar(dmarTable({structures: [catchAll], badChecksum: true}))), 'dmar.checksum')).toBe('fail')
  })

  it('unaligned DRHD base fails; two catch-alls in one segment fail', () => {
    const r = lintDmar(decodeDmar(dmarTable({structures: [drhd({flags: 1, base: 0xfed90800n}), catchAll]})))
    expect(outcome(r, 'dmar.drhd-register-base')).toBe('fail')
    expect(outcome(r, 'dmar.include-all')).toBe('fail')
  })

  it('RMRR limit below base fails; overlapping RMRRs warn', () => {
    const r = lintDmar(
      decodeDmar(
        dmarTable({
          structures: [
            catchAll,
            rmrr({base: 0x2000n, limit: 0x1fffn, scopes: [{type: 1, startBus: 0, path: [[0x14, 0]]}]}),
            rmrr({base: 0x10000n, limit: 0x1ffffn, scopes: [{type: 1, startBus: 0, path: [[0x14, 0]]}]}),
            rmrr({base: 0x18000n, limit: 0x27fffn, scopes: [{type: 1, startBus: 0, path: [[0x1a, 0]]}]}),
          ],
        }),
      ),
    )
    expect(outcome(r, 'dmar.rmrr-range')).toBe('fail')
    expect(find(r, 'dmar.rmrr-range').evidence).toHaveLength(1)
    expect(outcome(r, 'dmar.rmrr-overlap')).toBe('warn')
    expect(find(r, 'dmar.rmrr-overlap').evidence).toHaveLength(1)
  })

  it('INTR_REMAP without any IOAPIC scope fails', () => {
    const r = lintDmar(decodeDmar(dmarTable({flags: 1, structures: [drhd({flags: 1, base})]})))
    expect(outcome(r, 'dmar.ioapic-scope')).toBe('fail')
  })

  it('ANDD without NUL and namespace scope without ANDD', () => {
    const r = lintDmar(
      decodeDmar(
        dmarTable({
          structures: [drhd({flags: 1, base, scopes: [{type: 3, enumerationId: 0, startBus: 0xf0, path: [[0x1f, 0]]}, {type: 5, enumerationId: 9, startBus: 0, path: [[0x15, 0]]}]}), andd({number: 1, name: '\\_SB.I2C0', terminate: false})],
        }),
      ),
    )
    expect(outcome(r, 'dmar.andd')).toBe('warn')
    const facts = find(r, 'dmar.andd').evidence.map((e) => e.fact).join('\n')
    expect(facts).toContain('not NUL-terminated')
    expect(facts).toContain('enumeration id 9')
    expect(facts).toContain('ANDD 1')
  })

  it('ATSR with an endpoint scope and RMRR with an IOAPIC scope are questioned; reserved types warn', () => {
    const r = lintDmar(
      decodeDmar(
        dmarTable({
          structures: [
            catchAll,
            atsr({scopes: [{type: 1, startBus: 0, path: [[1, 0]]}]}),
            rmrr({base: 0x1000n, limit: 0x1fffn, scopes: [{type: 3, startBus: 0, path: [[0x1f, 0]]}]}),
            rawStructure(9, [1, 2, 3, 4]),
          ],
        }),
      ),
    )
    expect(outcome(r, 'dmar.scope-types')).toBe('warn')
    expect(find(r, 'dmar.scope-types').evidence).toHaveLength(2)
    expect(outcome(r, 'dmar.structure-types')).toBe('warn')
  })

  it('an SATC scope behind a bridge is not root-complex integrated', () => {
    const r = lintDmar(decodeDmar(dmarTable({structures: [catchAll, satc({flags: 1, scopes: [{type: 1, startBus: 0, path: [[0x1c, 0], [0, 0]]}]})]})))
    expect(outcome(r, 'dmar.satc')).toBe('warn')
  })

  it('a scope with no path fails (fwts InvalidDevScope)', () => {
    const r = lintDmar(decodeDmar(dmarTable({structures: [drhd({base, scopes: [{type: 1, startBus: 0, path: []}]}), catchAll]})))
    expect(outcome(r, 'dmar.scope-types')).toBe('fail')
  })

  it('RHSA naming an absent DRHD warns', () => {
    const r = lintDmar(decodeDmar(dmarTable({structures: [catchAll, rhsa({base: 0xdead0000n, domain: 1})]})))
    expect(outcome(r, 'dmar.rhsa')).toBe('warn')
  })

  it('kernel firmware-bug lines: bad RMRR not covered by E820 (terra log), IOAPIC without IOMMU (Chromebook log)', () => {
    const t = decodeDmar(dmarTable({structures: [catchAll]}))
    const terra = lintDmar(t, undefined, {kernelLog: readFileSync(path.join(realData, 'dmesg/terra-rmrr-journal-k6.11-1.log'), 'utf8')})
    expect(outcome(terra, 'dmar.log-firmware-bugs')).toBe('warn')
    expect(find(terra, 'dmar.log-firmware-bugs').evidence).toHaveLength(2)
    const chromebook = lintDmar(t, undefined, {kernelLog: readFileSync(path.join(realData, 'dmesg/chromebook-ir-fwbug-k6.x-1.log'), 'utf8')})
    expect(find(chromebook, 'dmar.log-firmware-bugs').evidence[0]?.fact).toContain('ioapic 0 has no mapping iommu')
    const spr = lintDmar(t, undefined, {kernelLog: readFileSync(path.join(realData, 'dmesg/spr-boot-scalable-k6.x-1.log'), 'utf8')})
    expect(outcome(spr, 'dmar.log-firmware-bugs')).toBe('pass')
  })

  it('kernel log faults (fwts DMARError)', () => {
    const t = decodeDmar(dmarTable({structures: [catchAll]}))
    const log = readFileSync(path.join(realData, 'dmesg/kernel-doc-sample-k2.6-1.log'), 'utf8')
    const r = lintDmar(t, undefined, {kernelLog: log})
    expect(outcome(r, 'dmar.log-errors')).toBe('warn')
    expect(outcome(lintDmar(t, undefined, {kernelLog: 'nothing here'}), 'dmar.log-errors')).toBe('pass')
  })
})

describe('lint with synthetic topologies', () => {
  // 00:1c.0 root port -> bus 2: 02:00.0 NIC (ATS) with VF 02:10.0; 00:02.0 iGPU; 00:14.0 USB
  const topo = topologyOf([
    {bdf: '0000:00:02.0', classCode: 0x030000},
    {bdf: '0000:00:14.0', classCode: 0x0c0330},
    {bdf: '0000:00:1c.0', secondaryBus: 2, subordinateBus: 2, pcieType: 4},
    {bdf: '0000:02:00.0', classCode: 0x020000, parent: '0000:00:1c.0', pcieType: 0, ats: true},
    {bdf: '0000:02:10.0', classCode: 0x020000, parent: '0000:00:1c.0', physfn: '0000:02:00.0', pcieType: 0},
  ])

  it('walks a two-level path through the bridge secondary bus', () => {
    const t = decodeDmar(dmarTable({structures: [drhd({flags: 1, base: 0xfed91000n}), rmrr({base: 0x7000_0000n, limit: 0x7000_ffffn, scopes: [{type: 1, startBus: 0, path: [[0x1c, 0], [0, 0]]}]})]}))
    const res = resolveDmarScopes(t, topo)
    expect(res.scopes[0]).toMatchObject({status: 'resolved', bdf: '0000:02:00.0', via: ['0000:00:1c.0']})
    const r = lintDmar(t, topo, {resolution: res})
    expect(outcome(r, 'dmar.rmrr-devices')).toBe('warn')
    expect(find(r, 'dmar.rmrr-devices').evidence[0]?.fact).toContain('0000:02:00.0 (network controller)')
    // ATS-capable NIC under a root port no ATSR lists
    expect(outcome(r, 'dmar.atsr-coverage')).toBe('warn')
  })

  it('an RMRR on a bridge scope applies to the endpoints below it', () => {
    const t = decodeDmar(dmarTable({structures: [drhd({flags: 1, base: 0xfed91000n}), rmrr({base: 0x7000_0000n, limit: 0x7000_ffffn, scopes: [{type: 2, startBus: 0, path: [[0x1c, 0]]}]})]}))
    const r = lintDmar(t, topo)
    expect(outcome(r, 'dmar.rmrr-devices')).toBe('warn')
    const facts = find(r, 'dmar.rmrr-devices').evidence.map((e) => e.fact.split(':').slice(0, 3).join(':'))
    expect(facts).toEqual(['0000:02:00.0 (network controller)', '0000:02:10.0 (network controller)'])
  })

  it('an ATSR with ALL_PORTS covers the NIC', () => {
    const t = decodeDmar(dmarTable({structures: [drhd({flags: 1, base: 0xfed91000n}), atsr({flags: 1})]}))
    expect(outcome(lintDmar(t, topo), 'dmar.atsr-coverage')).toBe('pass')
  })

  it('bridge scope owns its subtree, VFs follow their PF, the rest is uncovered without a catch-all', () => {
    const t = decodeDmar(dmarTable({structures: [drhd({base: 0xfed90000n, scopes: [{type: 2, startBus: 0, path: [[0x1c, 0]]}]})]}))
    const res = resolveDmarScopes(t, topo)
    expect(res.owners.get('0000:02:00.0')).toMatchObject({via: 'scope', matchedBdf: '0000:00:1c.0'})
    expect(res.owners.get('0000:02:10.0')).toMatchObject({via: 'scope'})
    expect(res.uncovered).toEqual(['0000:00:02.0', '0000:00:14.0'])
    const r = lintDmar(t, topo, {resolution: res})
    expect(outcome(r, 'dmar.coverage')).toBe('fail')
  })

  it('the first DRHD scope in table order owns a device, whether it names the device or a bridge above it', () => {
    const bridgeScope = {type: 2, startBus: 0, path: [[0x1c, 0]] as Array<[number, number]>}
    const nicScope = {type: 1, startBus: 0, path: [[0x1c, 0], [0, 0]] as Array<[number, number]>}
    const bridgeFirst = resolveDmarScopes(decodeDmar(dmarTable({structures: [drhd({base: 0xfed90000n, scopes: [bridgeScope]}), drhd({base: 0xfed91000n, scopes: [nicScope]})]})), topo)
    expect(bridgeFirst.owners.get('0000:02:00.0')).toMatchObject({drhdIndex: 0, matchedBdf: '0000:00:1c.0'})
    const nicFirst = resolveDmarScopes(decodeDmar(dmarTable({structures: [drhd({base: 0xfed90000n, scopes: [nicScope]}), drhd({base: 0xfed91000n, scopes: [bridgeScope]})]})), topo)
    expect(nicFirst.owners.get('0000:02:00.0')).toMatchObject({drhdIndex: 0, matchedBdf: '0000:02:00.0'})
    // The VF follows its PF's owner; the bridge itself is owned by the scope naming it.
    expect(nicFirst.owners.get('0000:02:10.0')).toMatchObject({drhdIndex: 0, matchedBdf: '0000:02:00.0'})
    expect(nicFirst.owners.get('0000:00:1c.0')).toMatchObject({drhdIndex: 1, matchedBdf: '0000:00:1c.0'})
  })

  it('scope type mismatch: endpoint scope on a bridge fails', () => {
    const t = decodeDmar(dmarTable({structures: [drhd({base: 0xfed90000n, scopes: [{type: 1, startBus: 0, path: [[0x1c, 0]]}]}), drhd({flags: 1, base: 0xfed91000n})]}))
    const r = lintDmar(t, topo)
    expect(outcome(r, 'dmar.scope-devices')).toBe('fail')
  })

  it('path through a non-bridge is a broken path', () => {
    const t = decodeDmar(dmarTable({structures: [drhd({flags: 1, base: 0xfed91000n}), rmrr({base: 0x1000n, limit: 0x1fffn, scopes: [{type: 1, startBus: 0, path: [[0x14, 0], [0, 0]]}]})]}))
    expect(resolveDmarScopes(t, topo).scopes[0]?.status).toBe('broken-path')
  })

  it('a unit whose only device is absent is ignored', () => {
    const t = decodeDmar(dmarTable({structures: [drhd({base: 0xfed90000n, scopes: [{type: 1, startBus: 0, path: [[0x1f, 3]]}]}), drhd({flags: 1, base: 0xfed91000n})]}))
    expect(outcome(lintDmar(t, topo), 'dmar.drhd-scopes')).toBe('warn')
  })
})

describe('units cross-checked with the table', () => {
  it('Sapphire Rapids log: six consistent units with IR and EIM, not emulated', () => {
    const units = unitsFromLog(readFileSync(path.join(realData, 'dmesg/spr-boot-scalable-k6.x-1.log'), 'utf8')).map((u) =>
      decodeUnit({name: u.name, registerBase: u.registerBase, version: u.version, cap: u.cap, ecap: u.ecap, source: 'kernel log'}),
    )
    const r = lintUnits(units)
    expect(outcome(r, 'units.present')).toBe('pass')
    expect(outcome(r, 'units.consistency')).toBe('pass')
    expect(outcome(r, 'units.caching-mode')).toBe('pass')
    expect(outcome(r, 'units.interrupt-remapping')).toBe('pass')
    expect(outcome(r, 'units.address-width')).toBe('pass')
  })

  it('Pixelbook log: two units that differ in features (cap_audit would complain)', () => {
    // dmar0 cap 1c0000c40660462 ecap 19e2ff0505e vs dmar1 cap d2008c40660462 ecap f050da:
    // dmar0 ecap 0x5e has DT and no SC (bit 7 = 0); dmar1 0xda has SC
    const units = unitsFromLog(readFileSync(path.join(realData, 'dmesg/pixelbook-boot-x2apic-k5.x-1.log'), 'utf8')).map((u) =>
      decodeUnit({name: u.name, registerBase: u.registerBase, cap: u.cap, ecap: u.ecap, source: 'kernel log'}),
    )
    const r = lintUnits(units)
    expect(outcome(r, 'units.consistency')).toBe('warn')
    const facts = find(r, 'units.consistency').evidence.map((e) => e.fact)
    expect(facts).toContain('sc: dmar0=false dmar1=true')
    expect(facts).toContain('fl1gp: dmar0=true dmar1=false')
  })

  it('CM=1 marks an emulated unit; INTR_REMAP clear while units have IR fails (IR stays off); unit count vs DRHDs', () => {
    const table = decodeDmar(dmarTable({flags: 0, structures: [drhd({base: 0xfed90000n, scopes: [{type: 1, startBus: 0, path: [[2, 0]]}]}), drhd({flags: 1, base: 0xfed91000n})]}))
    const units = [decodeUnit({name: 'dmar0', registerBase: 0xfed91000n, cap: 0x12008c22260286n, ecap: 0xf00f5en, source: 'test'})]
    const r = lintUnits(units, table)
    expect(outcome(r, 'units.caching-mode')).toBe('warn')
    expect(outcome(r, 'units.interrupt-remapping')).toBe('fail')
    expect(find(r, 'units.interrupt-remapping').summary).toContain('INTR_REMAP flag is clear')
    expect(outcome(r, 'units.match-drhd')).toBe('warn')
  })

  it('no units but DRHDs: remapping off (fails, as check does)', () => {
    const table = decodeDmar(dmarTable({structures: [drhd({flags: 1, base: 0xfed91000n})]}))
    expect(outcome(lintUnits([], table), 'units.present')).toBe('fail')
  })
})

describe('interrupt sources (IOAPIC/HPET source-ids)', () => {
  it('X99 table: IOAPIC 1 at f0:1f.7, IOAPIC 2 at 00:05.4, HPET 0 at f0:0f.0 (read from the .dsl)', () => {
    const sources = interruptSources(real('intel-x99-haswell-e-3d918b14'))
    expect(sources.map((s) => `${s.kind} ${s.enumerationId} ${s.bdf ?? '?'} ${s.drhdRegisterBase.toString(16)}`)).toEqual([
      'ioapic 1 0000:f0:1f.7 fbffc000',
      'ioapic 2 0000:00:05.4 fbffc000',
      'hpet 0 0000:f0:0f.0 fbffc000',
    ])
  })
})
