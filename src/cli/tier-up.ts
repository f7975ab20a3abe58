/**
 * How soon V8 optimises a function, set once at start (before the command's code is loaded).
 *
 * A command's run is short: `check` on a 2,062-function host lasts under a second, and V8's
 * optimising compiler (TurboFan) spent about a third of its CPU on its background thread compiling
 * functions that the run left after a few thousand calls (`--trace-opt`: 670 ms of compile jobs;
 * `check` 1.0 s → 0.7 s CPU with TurboFan off). A 16× interrupt budget keeps a function 16× longer
 * in the cheap tiers (interpreter, Sparkplug) before it counts as hot, so only code that really
 * runs long is optimised. `faults` is left at V8's default: its work grows with the log, and on a
 * 256 MiB log its scanning loops gain from being optimised early (3–4% slower with the budget).
 */
import {setFlagsFromString} from 'node:v8'

/** V8's default --interrupt-budget (bytecode executed between a function's tier-up checks) is 66 KiB. */
const SHORT_RUN_INTERRUPT_BUDGET = 16 * 66 * 1024

export function tuneTierUpFor(commandId: string | undefined): void {
  if (commandId === 'faults') return
  setFlagsFromString(`--interrupt-budget=${SHORT_RUN_INTERRUPT_BUDGET}`)
}
