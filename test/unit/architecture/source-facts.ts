/**
 * Static facts about src/ read with the TypeScript compiler's parser (no
 * type check): each file's line count, its functions' lengths, and its
 * imports (value imports apart from type-only ones). Shared by the
 * architecture tests and by `node --import tsx test/unit/architecture/source-facts.ts`
 * (prints the longest files and functions).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve, dirname } from 'node:path'
import ts from 'typescript'

export const ROOT = resolve(import.meta.dirname, '../../..')

export interface ImportFact { readonly spec: string, readonly typeOnly: boolean }
export interface FunctionFact { readonly name: string, readonly line: number, readonly lines: number }
export interface FileFact {
  readonly path: string
  readonly lines: number
  readonly imports: readonly ImportFact[]
  readonly functions: readonly FunctionFact[]
  readonly text: string
}

export function sourceFiles (dir = 'src'): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const e of readdirSync(join(ROOT, d), { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.name.endsWith('.ts')) out.push(p)
    }
  }
  walk(dir)
  return out.sort()
}

function nameOf (node: ts.Node, sf: ts.SourceFile): string {
  const named = node as ts.Node & { name?: ts.Node }
  if (named.name !== undefined) return named.name.getText(sf)
  const parent = node.parent
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) return parent.name.getText(sf)
  return '(anonymous)'
}

export function fileFact (path: string): FileFact {
  const text = readFileSync(join(ROOT, path), 'utf8')
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true)
  const imports: ImportFact[] = []
  const functions: FunctionFact[] = []
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = ts.isImportDeclaration(node) ? node.importClause : undefined
      const typeOnly = ts.isImportDeclaration(node)
        ? clause !== undefined && (clause.isTypeOnly || (clause.name === undefined && clause.namedBindings !== undefined &&
            ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.length > 0 && clause.namedBindings.elements.every(e => e.isTypeOnly)))
        : node.isTypeOnly
      imports.push({ spec: node.moduleSpecifier.text, typeOnly })
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0]
      if (arg !== undefined && ts.isStringLiteral(arg)) imports.push({ spec: arg.text, typeOnly: false })
    }
    if (ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isArrowFunction(node) ||
        ts.isMethodDeclaration(node) || ts.isConstructorDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node)) {
      if (node.body !== undefined) {
        const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line
        const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line
        functions.push({ name: nameOf(node, sf), line: start + 1, lines: end - start + 1 })
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(sf)
  const lines = text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length
  return { path, lines, imports, functions, text }
}

/** resolveLocal maps a relative import of `from` to a repository path (or null for packages). */
export function resolveLocal (from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null
  return relative(ROOT, resolve(ROOT, dirname(from), spec))
}

if (process.argv[1] !== undefined && import.meta.filename === resolve(process.argv[1])) {
  const facts = sourceFiles().map(fileFact)
  console.log('files over 300 lines:')
  for (const f of facts.filter(f => f.lines > 300).sort((a, b) => b.lines - a.lines)) console.log(`  ${f.lines} ${f.path}`)
  console.log('functions over 80 lines:')
  const fns = facts.flatMap(f => f.functions.map(fn => ({ ...fn, path: f.path }))).sort((a, b) => b.lines - a.lines)
  for (const fn of fns.filter(fn => fn.lines > 80)) console.log(`  ${fn.lines} ${fn.path}:${fn.line} ${fn.name}`)
  console.log('longest 10 functions:')
  for (const fn of fns.slice(0, 10)) console.log(`  ${fn.lines} ${fn.path}:${fn.line} ${fn.name}`)
}
