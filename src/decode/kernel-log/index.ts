/**
 * The kernel-log parser's public surface. Layout of this folder:
 * - parser.ts — LogParser (line and byte paths, caches, the two-line state) and parseKernelLog
 * - prefixes.ts — timestamps and other line prefixes
 * - shapes.ts — the registry of message formats and the candidate keywords
 * - one module per format: vtd-fault, vtd-qi, vtd-prq, rmrr, boot-state, walk-dump, context, amd-vi, arm-smmu
 * - records.ts — the shared record base and the LogRecord union
 */
export {LogParser, parseKernelLog} from './parser.js'
export type {IommuFamily, LogRecord, LogTime, RecordBase, RepeatSink, RepeatSlot, StampBytes, TimeStyle, UnparsedRecord} from './records.js'
export type {FaultFormat, FaultRecord, FaultStatusRecord, SuppressedRecord} from './vtd-fault.js'
export type {QiEvent, QiRecord} from './vtd-qi.js'
export type {PrqRecord} from './vtd-prq.js'
export type {RmrrRecord, RmrrRefusalRecord} from './rmrr.js'
export type {DomainTypeRecord, GroupRecord, InterruptRemappingRecord, IommuReadyRecord} from './boot-state.js'
export type {WalkDumpRecord} from './walk-dump.js'
export type {AmdViRecord} from './amd-vi.js'
export type {SmmuFamily, SmmuRecord} from './arm-smmu.js'
export type {ContextEvent, ContextRecord} from './context.js'
export {ridToBdf} from './shape.js'
