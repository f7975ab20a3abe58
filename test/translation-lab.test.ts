/**
 * Ground truth from the lab: real Linux guests under QEMU's emulated VT-d, faulting on
 * purpose. QEMU's stderr names the level where its walk stopped
 * (`vtd_iova_to_slpte: detected slpte permission error (iova=…, level=…, …)`) and its trace
 * lists every fault it reported (`vtd_dmar_fault sid … fault … addr … write …`); the guest
 * kernel printed each fault's reason in dmesg. Replaying the same request on what-if tables
 * built from the same snapshot must name the same reason and the same level.
 */
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {RootedHostFs} from '../src/host/fs.js'
import {explainFaultStep, replayContextOf, walkInContext} from '../src/replay/translation/index.js'
import {modelOf} from './support/model.js'
import {fixturesDir} from './support/paths.js'

const fixtures = fixturesDir
const labs = existsSync(fixtures) ? readdirSync(fixtures).filter((d) => d.startsWith('lab-') && existsSync(path.join(fixtures, d, 'qemu-stderr.txt'))) : []

interface QemuWalkLine {
  iova: bigint
  level: number
  write: boolean
}
interface QemuFault {
  sid: number
  reason: number
  address: bigint
  write: boolean
}
interface KernelFault {
  requester: string
  address: bigint
  write: boolean
  reason: number
  pasid?: number
}

function qemuWalkLines(text: string): QemuWalkLine[] {
  return [...text.matchAll(/vtd_iova_to_slpte: detected slpte permission error \(iova=0x([0-9a-f]+), level=0x([0-9a-f]+), slpte=0x[0-9a-f]+, write=(\d)/g)].map((m) => ({
    iova: BigInt('0x' + m[1]),
    level: parseInt(m[2] ?? '', 16),
    write: m[3] === '1',
  }))
}

function qemuFaults(text: string): QemuFault[] {
  return [...text.matchAll(/vtd_dmar_fault sid 0x([0-9a-f]+) fault (\d+) addr 0x([0-9a-f]+) write (\d)/g)].map((m) => ({
    sid: parseInt(m[1] ?? '', 16),
    reason: parseInt(m[2] ?? '', 10),
    address: BigInt('0x' + m[3]),
    write: m[4] === '1',
  }))
}

function kernelFaults(text: string): KernelFault[] {
  return [...text.matchAll(/\[DMA (Read|Write)(?: PASID 0x([0-9a-f]+)| NO_PASID)?\] Request device \[([0-9a-f]{2}:[0-9a-f]{2}\.[0-7])\] fault addr 0x([0-9a-f]+) \[fault reason 0x([0-9a-f]+)\]/g)].map((m) => ({
    requester: m[3] ?? '',
    address: BigInt('0x' + m[4]),
    write: m[1] === 'Write',
    reason: parseInt(m[5] ?? '', 16),
    ...(m[2] !== undefined ? {pasid: parseInt(m[2], 16)} : {}),
  }))
}

const read = (lab: string, file: string) => readFileSync(path.join(fixtures, lab, file), 'utf8')
const withFaults = labs.filter((lab) => qemuFaults(read(lab, 'qemu-stderr.txt')).length > 0)

describe('lab ground truth', () => {
  it('has lab snapshots with QEMU fault output to compare against', () => {
    // dma-faults (legacy, 39-bit), aw48 (48-bit) and scalable-mode carry injected faults.
    expect(withFaults).toEqual(expect.arrayContaining(['lab-dma-faults', 'lab-aw48', 'lab-scalable-mode']))
  })

  for (const lab of withFaults) {
    describe(lab, () => {
      const context = replayContextOf(modelOf(new RootedHostFs(path.join(fixtures, lab))))
      const stderr = read(lab, 'qemu-stderr.txt')

      it('replays every fault QEMU reported with QEMU\'s reason', () => {
        const faults = qemuFaults(stderr)
        for (const f of faults) {
          const requester = `${(f.sid >> 8).toString(16).padStart(2, '0')}:${((f.sid >> 3) & 31).toString(16).padStart(2, '0')}.${f.sid & 7}`
          const result = walkInContext(context, {requester, address: f.address, access: f.write ? 'write' : 'read'})
          expect(result.outcome, `${requester} ${f.address.toString(16)}`).toBe('fault')
          if (result.outcome === 'fault') expect(result.fault).toBe(f.reason)
        }
      })

      it('stops at the level QEMU\'s walk reported', () => {
        const lines = qemuWalkLines(stderr)
        expect(lines.length).toBeGreaterThan(0)
        for (const line of lines) {
          // The walk line is QEMU's first fault; its requester is the first trace line's sid.
          const first = qemuFaults(stderr).find((f) => f.address === line.iova)
          expect(first).toBeDefined()
          const sid = first?.sid ?? 0
          const requester = `${(sid >> 8).toString(16).padStart(2, '0')}:${((sid >> 3) & 31).toString(16).padStart(2, '0')}.${sid & 7}`
          const result = walkInContext(context, {requester, address: line.iova, access: line.write ? 'write' : 'read'})
          expect(result.outcome).toBe('fault')
          if (result.outcome === 'fault') expect(result.level).toBe(line.level)
        }
      })

      it('names the reason the guest kernel printed for each fault in dmesg', () => {
        const faults = kernelFaults(read(lab, 'dmesg.txt'))
        expect(faults.length).toBeGreaterThan(0)
        for (const f of faults) {
          const explained = explainFaultStep(context, f)
          expect(explained.known).toBe(true)
          expect(explained.reason).toBe(f.reason)
          expect(explained.agreesWithKernel).toBe(true)
        }
      })
    })
  }
})

describe('fault triage hook on the lab logs', () => {
  it('names the refusing step for each DMA fault record the kernel-log decoder reads', async () => {
    const {parseKernelLog} = await import('../src/decode/kernel-log/index.js')
    const {faultStepHook} = await import('../src/replay/translation/index.js')
    type Triage = import('../src/replay/fault-triage.js').TriageContext
    const context = replayContextOf(modelOf(new RootedHostFs(path.join(fixtures, 'lab-scalable-mode'))))
    // The hook fits TriageContext.stepFor as it is.
    const stepFor: Triage['stepFor'] = faultStepHook(context)
    const records = parseKernelLog(read('lab-scalable-mode', 'dmesg.txt')).filter((r) => r.type === 'fault')
    expect(records.length).toBe(2)
    const steps = records.map((r) => (r.type === 'fault' ? stepFor?.(r) : undefined))
    // dmesg: "[DMA Read PASID 0x0] … 0x3300000 [fault reason 0x06]", "[DMA Write PASID 0x0] … 0x3301000 [fault reason 0x05]"
    expect(steps.map((s) => s?.step)).toEqual([
      'second-stage PDPE (level 3) refuses it with reason 0x06 (same reason as the kernel)',
      'second-stage PDPE (level 3) refuses it with reason 0x05 (same reason as the kernel)',
    ])
  })
})
