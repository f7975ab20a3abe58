/** One remapping unit's translation state: its capabilities, root table and table memory. */
import type {UnitCaps} from './caps.js'
import type {TableMemory} from './memory.js'

export type TablesSource = 'debugfs' | 'what-if' | 'json'

export interface TranslationUnit {
  /** "dmar0" … */
  name: string
  /** PCI segment the unit serves. */
  segment: number
  caps: UnitCaps
  /** RTADDR: physical address of the root table (4-KiB aligned). */
  rootTable: number
  /** RTADDR.TTM: scalable-mode root/context format. */
  scalable: boolean
  memory: TableMemory
  /** Where the tables came from, and what a reader should know about them. */
  source: TablesSource
  notes: string[]
  /** Full-form BDFs this unit translates; undefined when not known. */
  devices?: string[]
}
