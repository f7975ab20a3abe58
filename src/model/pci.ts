/**
 * The PCI vocabulary of the model (PciFunction, PciTopology, ACS/PCIe constants). The records
 * are defined beside their decoders (decode/pci-function.ts), because the lspci text decoder
 * produces them too; everything above the decoders imports them from here.
 */
export * from '../decode/pci-function.js'
