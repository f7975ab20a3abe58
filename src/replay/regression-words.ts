/**
 * What the explanation engine says about known kernel regressions (kernel-regressions.ts): the
 * words of the rule that leads with one when the log names an affected kernel, and the candidate
 * a "cannot tell" explanation lists when the log does not tell the kernel (no release line, or a
 * distribution build whose stable base it does not name). Pure.
 */
import type {Evidence} from '../checks/outcome.js'
import type {FaultFacts} from './fault-rules.js'
import {affectedText, affects, describeKernel, fixedIn, regressionsFor, regressionsWithSymptom, runningKernel, type FaultSymptom, type KernelRegression, type RunningKernel} from './kernel-regressions.js'

const symptomOf = (x: FaultFacts): FaultSymptom => ({
  family: x.g.family, kind: x.g.kind,
  ...(x.g.reason === undefined ? {} : {reason: x.g.reason}),
  ...(x.g.event === undefined ? {} : {event: x.g.event}),
})

/** The log's own kernel line wins; else the host's running kernel (uname -r of the live host or the --root snapshot). */
const kernelOf = (x: FaultFacts): RunningKernel | undefined => runningKernel(x.facts.contexts.get('kernel-release')?.detail ?? x.ctx.kernel?.release)

/** Where the kernel came from, in words and as a source. */
function kernelCited(x: FaultFacts): {by: string; source: string} | undefined {
  const line = x.facts.contexts.get('kernel-release')
  if (line !== undefined) return {by: 'the log names', source: `${x.source}:${line.line}`}
  const host = x.ctx.kernel
  return host === undefined ? undefined : {by: `the host runs (${host.source}; the log names no kernel)`, source: host.source}
}

/** The requester shares its requester ID with another device: a DMA alias on the host, or a non-PCI device the log shows joining an IOMMU group. */
function sharesRequesterId(x: FaultFacts): boolean {
  return x.trace?.devices.some((d) => d.relation === 'alias') === true || x.facts.contexts.has('platform-device-grouped')
}

/** The regression's own condition on the requester holds (or it has none). */
const conditionHolds = (r: KernelRegression, x: FaultFacts) => r.requires !== 'shared-requester-id' || sharesRequesterId(x)

/** The condition in words, for a candidate whose condition the log does not show. */
const conditionText = (r: KernelRegression, who: string) => (r.requires === 'shared-requester-id' ? ` — if ${who} shares its requester ID with another device (a DMA alias, a device behind a PCIe-to-PCI bridge, a platform device attached through it)` : '')

/**
 * The known regression whose affected releases hold the log's kernel (its stable base), whose
 * symptom this fault has and whose condition on the requester the log or host shows.
 */
export function knownRegression(x: FaultFacts): {regression: KernelRegression; kernel: RunningKernel} | undefined {
  const kernel = kernelOf(x)
  const regression = kernel?.base === undefined ? undefined : regressionsFor(kernel.base, symptomOf(x)).find((r) => conditionHolds(r, x))
  return regression === undefined ? undefined : {regression, kernel: kernel!}
}

export function explainKnownRegression(x: FaultFacts, who: string): {summary: string; causes: string[]; remediation: string[]; evidence: Evidence[]} {
  const {regression: r, kernel} = knownRegression(x)!
  const cited = kernelCited(x)
  const backports = kernel.distro === undefined ? '' : `; ${kernel.distro} may have backported the fix (or not taken the bug) — check its changelog for ${r.fix.commit}`
  return {
    summary: `this kernel (${describeKernel(kernel)}) carries a known IOMMU regression: ${r.summary}; ${who}'s fault has its symptom`,
    causes: [`the regression introduced by ${r.introducedBy}, fixed by ${r.fix.commit} ("${r.fix.subject}")${backports}`,
      x.g.kind === 'interrupt' ? 'a device or driver problem with the same symptom, if the fault persists on a fixed kernel' : 'a driver bug with the same symptom, if the fault persists on a fixed kernel'],
    remediation: [`update to a kernel with the fix (${fixedIn(r)} or newer)`, 'until then: boot the previous kernel'],
    evidence: cited === undefined ? [] : [{fact: `${cited.by} kernel ${kernel.release}, in the affected range ${affectedText(r)} (${r.evidence})`, source: cited.source}],
  }
}

/**
 * Known regressions with this fault's symptom that the log cannot rule in or out, as candidates:
 * the log names no kernel, or a distribution build whose stable base it does not tell. A kernel
 * the log names and that is outside every range rules them out; one inside a range keeps that
 * regression a candidate when a more specific rule that cannot tell leads (an iGPU fault, a
 * phantom-function ID, DMA after a link went down, an interrupt from the VMD location).
 */
export function regressionCandidates(x: FaultFacts): string[] {
  const kernel = kernelOf(x)
  if (kernel?.base !== undefined) {
    return regressionsFor(kernel.base, symptomOf(x)).slice(0, 2).map((r) =>
      `a known kernel regression this kernel (${describeKernel(kernel)}) carries: ${r.summary} — fixed by ${r.fix.commit} ("${r.fix.subject}"), in ${fixedIn(r)}${conditionHolds(r, x) ? '' : conditionText(r, x.g.requester)}`)
  }
  const unknown = kernel === undefined ? 'the log does not name the kernel' : `${kernelCited(x)?.by ?? 'the log names'} ${describeKernel(kernel)}`
  return regressionsWithSymptom(symptomOf(x)).slice(0, 2).map((r) =>
    `a known kernel regression, if this kernel is ${affectedText(r)} (${unknown}): ${r.summary} — fixed by ${r.fix.commit} ("${r.fix.subject}"), in ${fixedIn(r)}`)
}

/**
 * True when the log names a kernel whose stable base `regression` does not affect: a rule that
 * recognises the bug from other evidence (a dumped table entry) must not name it there.
 */
export function kernelRulesOut(x: FaultFacts, regression: KernelRegression): boolean {
  const base = kernelOf(x)?.base
  return base !== undefined && !affects(regression, base)
}
