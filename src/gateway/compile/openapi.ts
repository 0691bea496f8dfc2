/** An operation of an API's OpenAPI document, as the compiler and the validation policies see it. */
export interface OpenApiOperation {
  id: string;
  method: string;
  template: string;
  operation: unknown;
  pathParameters: unknown[];
  document: unknown;
  version: string;
}

export interface OpenApiFile { document: unknown; operations: OpenApiOperation[] }

/** Load an OpenAPI document through the validation module's loader (imported on first use). */
export async function loadOpenApiFile(file: string): Promise<OpenApiFile> {
  const mod = await import('../openapi/load.js');
  const loaded = await mod.loadOpenApi(file);
  return {
    document: loaded.document,
    operations: loaded.operations.map((o: Omit<OpenApiOperation, 'document' | 'version'>) => ({ ...o, method: o.method.toUpperCase(), document: loaded.document, version: loaded.version })),
  };
}
