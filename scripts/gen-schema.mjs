#!/usr/bin/env node
/**
 * Generates schema/check.schema.json from the one TypeScript source of truth: the `CheckReport`
 * interface in src/report/check.ts (read with the TypeScript compiler API, JSDoc becomes
 * `description`). `node scripts/gen-schema.mjs` writes the file; `--check` exits 1 when the
 * committed schema differs (test/checks-schema.test.ts does the same comparison in CI).
 */
import ts from 'typescript'
import {readFileSync, writeFileSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const SCHEMA_PATH = resolve(repoRoot, 'schema/check.schema.json')
const SOURCE = resolve(repoRoot, 'src/report/check.ts')
const ROOT_TYPE = 'CheckReport'

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

export function generateCheckSchema() {
  const program = ts.createProgram([SOURCE], {strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, noEmit: true, skipLibCheck: true, types: []})
  const checker = program.getTypeChecker()
  const file = program.getSourceFile(SOURCE)
  const symbol = checker.getExportsOfModule(checker.getSymbolAtLocation(file)).find((s) => s.name === ROOT_TYPE)
  if (!symbol) throw new Error(`${ROOT_TYPE} is not exported from src/report/check.ts`)
  const body = schemaFor(checker.getDeclaredTypeOfSymbol(symbol), checker, new Set())
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://github.com/vtd-check/vtd-check/schema/check.schema.json',
    title: 'vtd-check check --json',
    ...describe(symbol, checker),
    ...body,
  }
}

export function renderSchema(schema) {
  return JSON.stringify(schema, null, 2) + '\n'
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = renderSchema(generateCheckSchema())
  if (process.argv.includes('--check')) {
    let committed = ''
    try {
      committed = readFileSync(SCHEMA_PATH, 'utf8')
    } catch {}
    if (committed !== text) {
      process.stderr.write('schema/check.schema.json is out of date: run `node scripts/gen-schema.mjs`\n')
      process.exit(1)
    }
  } else {
    writeFileSync(SCHEMA_PATH, text)
    process.stdout.write(`wrote ${SCHEMA_PATH}\n`)
  }
}
