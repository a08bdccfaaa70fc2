/**
 * Uploads with progress: a body sent through XMLHttpRequest, whose upload events tell how many bytes
 * have left (fetch cannot tell that without streamed request bodies, which need HTTP/2). The caller
 * gets the raw answer (status, headers, bytes); a problem+json answer is theirs to read or throw.
 */
import { apiUrl, type RequestOptions } from './client.js';
import { ApiError, toProblem } from './problem.js';
import { authHeaders, readSession } from './session.js';

export interface UploadOptions {
  method?: 'POST' | 'PUT';
  query?: RequestOptions['query'];
  body: Blob;
  type?: string;
  /** Called as the body goes out: bytes sent of the total. */
  onProgress?: (sent: number, total: number) => void;
  signal?: AbortSignal;
}

export interface UploadAnswer {
  status: number;
  contentType: string;
  header(name: string): string | null;
  body: Blob;
  text(): Promise<string>;
}

export function apiUpload(path: string, opts: UploadOptions): Promise<UploadAnswer> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(opts.method ?? 'POST', apiUrl(path, opts.query));
    xhr.responseType = 'blob';
    const headers: Record<string, string> = { Accept: 'application/json', ...authHeaders(readSession()) };
    if (opts.type) headers['Content-Type'] = opts.type;
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => opts.onProgress?.(e.loaded, e.lengthComputable ? e.total : opts.body.size);
    xhr.upload.onload = () => opts.onProgress?.(opts.body.size, opts.body.size);
    xhr.onload = () => {
      const body: Blob = xhr.response instanceof Blob ? xhr.response : new Blob([]);
      resolve({
        status: xhr.status,
        contentType: xhr.getResponseHeader('content-type') ?? '',
        header: (name) => xhr.getResponseHeader(name),
        body,
        text: () => body.text(),
      });
    };
    xhr.onerror = () => reject(new TypeError('the upload did not reach the server'));
    xhr.onabort = () => reject(new DOMException('the upload was cancelled', 'AbortError'));
    opts.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(opts.body);
  });
}

/** The ApiError of a failed upload answer (its problem document, or a readable stand-in). */
export async function uploadError(a: UploadAnswer): Promise<ApiError> {
  return new ApiError(toProblem(a.status, '', await a.text(), a.contentType));
}
