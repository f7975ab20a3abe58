/** Human rendering of a passthrough plan: verdict, what goes with it, blockers, then commands. */
import type {PassthroughPlan, PlanVerdict} from '../checks/plan.js'

const VERDICT_WORDS: Record<PlanVerdict, string> = {
  ready: 'READY',
  'ready-with-warnings': 'READY (with warnings)',
  blocked: 'BLOCKED',
  unknown: 'UNKNOWN (run as root for the full picture)',
}

export function renderPlan(plan: PassthroughPlan): string {
  const out: string[] = []
  out.push(`Passthrough plan for ${plan.description}${plan.group === undefined ? '' : ` — IOMMU group ${plan.group}`}: ${VERDICT_WORDS[plan.verdict]}`)
  if (plan.bindWithIt.length > 0) {
    out.push('  Must go to vfio-pci with it (same IOMMU group):')
    for (const d of plan.bindWithIt) out.push(`    - ${d.description}`)
  }
  if (plan.mayStayOnHost.length > 0) out.push(`  Bridges in the group (may stay on pcieport): ${plan.mayStayOnHost.map((d) => d.bdf).join(', ')}`)
  if (plan.takesFromHost.length > 0) {
    out.push('  Takes from the host:')
    for (const t of plan.takesFromHost) out.push(`    - ${t.bdf}: ${t.what}`)
  }
  const section = (title: string, issues: PassthroughPlan['blockers']) => {
    if (issues.length === 0) return
    out.push(`  ${title}:`)
    for (const i of issues) {
      out.push(`    - [${i.check}] ${i.problem}`)
      for (const f of i.fix) out.push(`        fix: ${f}`)
    }
  }
  section('Blockers', plan.blockers)
  section('Warnings', plan.warnings)
  const {bindNow, persist, kernelParameters, kernelCommandLine, otherMethods, firmware} = plan.commands
  if (firmware.length > 0) out.push('  Firmware setup:', ...firmware.map((f) => `    - ${f}`))
  if (kernelParameters.length > 0) out.push(`  Kernel command line: ${kernelParameters.join(', ')}`, ...kernelCommandLine.map((c) => `    ${c}`))
  if (bindNow.length > 0) out.push('  Bind now (until reboot; safe to run twice):', ...bindNow.map((c) => `    ${c}`))
  if (persist.length > 0) out.push('  Persist across reboots:', ...persist.map((c) => `    ${c}`))
  if (otherMethods.length > 0) out.push(...otherMethods.map((line) => `  (${line})`))
  return out.join('\n')
}
