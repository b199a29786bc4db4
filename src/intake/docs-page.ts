/**
 * GET /docs: the OpenAPI document as a page to read, rendered here from the document itself. Self-contained:
 * no script, no stylesheet or font from elsewhere (the intake may run where nothing outside is reachable).
 */
type Json = Record<string, unknown>;

const escape = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function schemaName(schema: unknown): string {
  if (!schema || typeof schema !== 'object') return '';
  const s = schema as Json;
  if (typeof s.$ref === 'string') {
    const id = s.$ref.split('/').pop()!;
    return `<a href="#schema-${escape(id)}">${escape(id)}</a>`;
  }
  if (Array.isArray(s.oneOf)) return s.oneOf.map(schemaName).join(' | ');
  return escape(typeof s.type === 'string' ? s.type : 'value');
}

function mediaSchema(content: unknown): string {
  if (!content || typeof content !== 'object') return '';
  return Object.entries(content as Record<string, { schema?: unknown }>)
    .map(([type, m]) => (type === 'application/json' ? schemaName(m.schema) : escape(type)))
    .join(', ');
}

export function renderDocsPage(doc: Json): string {
  const info = (doc.info ?? {}) as Json;
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Json>>;
  const schemas = ((doc.components as Json | undefined)?.schemas ?? {}) as Record<string, Json>;
  const ops: string[] = [];
  for (const [p, methods] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const params = ((op.parameters ?? []) as Json[])
        .map(
          (x) =>
            `<li><code>${escape(x.name)}</code> (${escape(x.in)}${x.required ? ', required' : ''})` +
            `${x.description ? `: ${escape(x.description)}` : ''}</li>`,
        )
        .join('');
      const body = op.requestBody as Json | undefined;
      const responses = Object.entries((op.responses ?? {}) as Record<string, Json>)
        .map(
          ([status, r]) =>
            `<tr><td>${escape(status)}</td><td>${escape(r.description)}</td><td>${mediaSchema(r.content)}</td></tr>`,
        )
        .join('');
      const open = Array.isArray(op.security) && op.security.length === 0;
      ops.push(`<section class="op" id="${escape(op.operationId)}">
<h3><span class="m">${escape(method.toUpperCase())}</span> <code>${escape(p)}</code></h3>
<p><strong>${escape(op.summary)}</strong>${open ? ' <em>(no token)</em>' : ''}</p>
${op.description ? `<p>${escape(op.description)}</p>` : ''}
${params ? `<h4>Parameters</h4><ul>${params}</ul>` : ''}
${body ? `<h4>Body${body.required ? '' : ' (optional)'}</h4><p>${escape(body.description ?? '')} ${mediaSchema(body.content)}</p>` : ''}
<h4>Answers</h4><table><tr><th>Status</th><th>Meaning</th><th>Body</th></tr>${responses}</table>
</section>`);
    }
  }
  const schemaList = Object.entries(schemas)
    .map(
      ([id, s]) =>
        `<section id="schema-${escape(id)}"><h3>${escape(id)}</h3>${s.description ? `<p>${escape(s.description)}</p>` : ''}` +
        `<pre>${escape(JSON.stringify(s, null, 2))}</pre></section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(info.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.4}
code,pre{font-family:ui-monospace,monospace}pre{background:#f4f4f4;padding:.5rem;overflow:auto;max-height:20rem}
.op{border-top:1px solid #ccc;margin-top:1.5rem}.m{background:#234;color:#fff;padding:0 .4rem;border-radius:3px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}</style>
</head><body>
<h1>${escape(info.title)} <small>${escape(info.version)}</small></h1>
<p>${escape(info.description ?? '')}</p>
<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${escape(doc.openapi)}).</p>
<h2>Routes</h2>
${ops.join('\n')}
<h2>Schemas</h2>
${schemaList}
</body></html>
`;
}
