export interface ConsoleFileSize {
  name: string;
  raw: number;
  gzip: number;
}

export interface ConsoleSizes {
  files: ConsoleFileSize[];
  index: { raw: number; gzip: number };
  /** index.html and the files it names (entry script, stylesheet, preloaded chunks). */
  firstScreen: { files: string[]; raw: number; gzip: number };
  total: { raw: number; gzip: number };
}

export function consoleSizes(dist: string): ConsoleSizes;
export function formatSizes(sizes: ConsoleSizes): string;
