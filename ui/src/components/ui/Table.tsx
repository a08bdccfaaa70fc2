import type { ReactNode } from 'react';

export interface Column<T> {
  key: string;
  header: ReactNode;
  cell: (row: T) => ReactNode;
  /** Hidden on narrow screens (the column is secondary). */
  secondary?: boolean;
  align?: 'start' | 'end';
}

export interface TableProps<T> {
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  caption: string;
  onRowClick?: (row: T) => void;
}

/** A data table; the caption names it for screen readers (visually hidden). */
export function Table<T>({ columns, rows, rowKey, caption, onRowClick }: TableProps<T>) {
  return (
    <div className="table-wrap">
      <table className="table">
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} scope="col" className={[c.secondary ? 'secondary' : '', c.align === 'end' ? 'num' : ''].join(' ').trim() || undefined}>{c.header}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)} className={onRowClick ? 'clickable' : undefined} onClick={onRowClick ? () => onRowClick(row) : undefined}>
              {columns.map((c) => (
                <td key={c.key} className={[c.secondary ? 'secondary' : '', c.align === 'end' ? 'num' : ''].join(' ').trim() || undefined}>{c.cell(row)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
