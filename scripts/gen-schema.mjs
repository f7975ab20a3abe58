#!/usr/bin/env node
/**
 * Generates the JSON contracts in schema/ from their one TypeScript source of truth each
 * (read with the TypeScript compiler API, JSDoc becomes `description`): `check --json` from
 * `CheckReport` (src/report/check.ts), `diff --json` from `HostDiff` (src/compare/diff.ts),
 * `fleet --json` from `FleetSummary` (src/compare/fleet.ts). `node scripts/gen-schema.mjs` writes
 * them; `--check` exits 1 when a committed schema differs (the tests make the same comparison).
 */
import ts from 'typescript'
import {readFileSync, writeFileSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const CONTRACTS = {
  check: {source: 'src/report/check.ts', type: 'CheckReport', title: 'vtd-check check --json'},
  diff: {source: 'src/compare/diff.ts', type: 'HostDiff', title: 'vtd-check diff --json'},
  fleet: {source: 'src/compare/fleet.ts', type: 'FleetSummary', title: 'vtd-check fleet --json'},
}
export const schemaPath = (name) => resolve(repoRoot, `schema/${name}.schema.json`)
export const SCHEMA_PATH = schemaPath('check')

function describe(symbol, checker) {
  const text = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim()
  return text ? {description: text.replace(/\s+/g, ' ')} : {}
}

function schemaFor(type, checker, seen) {
  if (type.flags & ts.TypeFlags.Union) {
    const parts = type.types.filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)))
    if (parts.length > 0 && parts.every((t) => t.flags & ts.TypeFlags.BooleanLiteral)) return {type: 'boolean'}
    if (parts.every((t) => t.isStringLiteral())) return {type: 'string', enum: parts.map((t) => t.value).sort()}
    if (parts.length === 1) return schemaFor(parts[0], checker, seen)
    return {anyOf: parts.map((t) => schemaFor(t, checker, seen))}
  }
  if (type.isStringLiteral()) return {type: 'string', const: type.value}
  if (type.isNumberLiteral()) return {type: 'integer', const: type.value}
  if (type.flags & ts.TypeFlags.String) return {type: 'string'}
  if (type.flags & ts.TypeFlags.Number) return {type: 'number'}
  if (type.flags & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) return {type: 'boolean'}
  if (checker.isArrayType(type)) return {type: 'array', items: schemaFor(checker.getTypeArguments(type)[0], checker, seen)}
  if (type.flags & ts.TypeFlags.Object) {
    if (seen.has(type)) throw new Error(`recursive type ${checker.typeToString(type)} is not supported`)
    const inner = new Set(seen).add(type)
    const properties = {}
    const required = []
    for (const prop of checker.getPropertiesOfType(type)) {
      const declaration = prop.valueDeclaration ?? prop.declarations?.[0]
      const propType = declaration ? checker.getTypeOfSymbolAtLocation(prop, declaration) : checker.getTypeOfSymbol(prop)
      properties[prop.name] = {...describe(prop, checker), ...schemaFor(propType, checker, inner)}
      if (!(prop.flags & ts.SymbolFlags.Optional)) required.push(prop.name)
    }
    return {type: 'object', properties, required, additionalProperties: false}
  }
  throw new Error(`cannot express ${checker.typeToString(type)} in JSON Schema`)
}

export function generateSchema(name) {
  const contract = CONTRACTS[name]
  const source = resolve(repoRoot, contract.source)
  const program = ts.createProgram([source], {strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, noEmit: true, skipLibCheck: true, types: []})
  const checker = program.getTypeChecker()
  const file = program.getSourceFile(source)
  const symbol = checker.getExportsOfModule(checker.getSymbolAtLocation(file)).find((s) => s.name === contract.type)
  if (!symbol) throw new Error(`${contract.type} is not exported from ${contract.source}`)
  const body = schemaFor(checker.getDeclaredTypeOfSymbol(symbol), checker, new Set())
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `https://github.com/vtd-check/vtd-check/schema/${name}.schema.json`,
    title: contract.title,
    ...describe(symbol, checker),
    ...body,
  }
}

export function generateCheckSchema() {
  return generateSchema('check')
}

export function renderSchema(schema) {
  return JSON.stringify(schema, null, 2) + '\n'
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let stale = false
  for (const name of Object.keys(CONTRACTS)) {
    const text = renderSchema(generateSchema(name))
    if (process.argv.includes('--check')) {
      let committed = ''
      try {
        committed = readFileSync(schemaPath(name), 'utf8')
      } catch {}
      if (committed !== text) {
        process.stderr.write(`schema/${name}.schema.json is out of date: run \`node scripts/gen-schema.mjs\`\n`)
        stale = true
      }
    } else {
      writeFileSync(schemaPath(name), text)
      process.stdout.write(`wrote ${schemaPath(name)}\n`)
    }
  }
  if (stale) process.exit(1)
}
