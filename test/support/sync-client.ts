/**
 * The generated client's sync surface as the end-to-end tests use it (they import the generated
 * code at run time, so its types are restated here, narrowed to what the tests touch).
 */
export type Row = Record<string, unknown>;

export interface LocalDatabase {
  pg: { query<T = Row>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>; exec(sql: string): Promise<unknown> };
  close(): Promise<void>;
}

export interface Writer {
  flush(): Promise<void>;
  waitForChange(changeId: string, timeoutMs?: number): Promise<void>;
  failedChanges(): Promise<{ change_id: string; entity: string; last_error: string | null }[]>;
  status(): Promise<{ online: boolean; queued: number; failed: number; lastError: string | null }>;
}

export interface Engine {
  writer: Writer;
  shapes: { stats: { applied: number; skipped: number; refetches: number } }[];
  ready: Promise<void>;
  stop(): Promise<void>;
}

export interface SyncClient {
  createDatabase(o?: { dataDir?: string }): Promise<LocalDatabase>;
  startSync(o: { db: LocalDatabase; apiUrl: string; electricUrl: string; backoff?: { initialMs: number; maxMs: number }; onError?: (error: Error) => void }): Promise<Engine>;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
