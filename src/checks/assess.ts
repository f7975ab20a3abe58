/** One call from the host model to the check results and passthrough plans (the command stays thin). */
import type {HostModel} from '../model/host.js'
import {runChecks} from './catalogue.js'
import {assessmentContext, type AssessmentContext, type ContextOptions} from './context.js'
import type {SubjectResult} from './outcome.js'
import {planPassthrough, type PassthroughPlan} from './plan.js'

export interface Assessment {
  context: AssessmentContext
  results: SubjectResult[]
  plans: PassthroughPlan[]
}

export function assessHost(model: HostModel, options: ContextOptions = {}): Assessment {
  const context = assessmentContext(model, options)
  const results = runChecks(context)
  const plans = context.targets.map((bdf) => planPassthrough(context, bdf, results))
  return {context, results, plans}
}
