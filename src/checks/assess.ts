/** One call from collected facts to the finished `check` report (the command stays thin). */
import type {CollectedHost} from '../collect/types.js'
import type {HostFs, Read} from '../host/fs.js'
import {buildCheckReport, type CheckReport} from '../report/check.js'
import {runChecks} from './catalogue.js'
import {buildContext, type ContextOptions} from './context.js'
import {planPassthrough} from './plan.js'

export function assessHost(host: CollectedHost, log: Read<string>, fs: HostFs, options: ContextOptions = {}): CheckReport {
  const ctx = buildContext(host, log, fs, options)
  const results = runChecks(ctx)
  const plans = ctx.targets.map((bdf) => planPassthrough(ctx, bdf, results))
  return buildCheckReport(ctx, results, plans)
}
