import { format, formatDistanceToNowStrict, parseISO } from 'date-fns';

export function ago(iso: string | null | undefined): string {
  if (!iso) return 'never';
  return `${formatDistanceToNowStrict(parseISO(iso))} ago`;
}

export function day(iso: string | null | undefined): string {
  return iso ? format(parseISO(iso), 'yyyy-MM-dd') : '—';
}

// One formatter for the whole app: toLocaleString builds a new one on every call, which
// costs tens of milliseconds over a page of numbers.
const NUMBER = new Intl.NumberFormat('en-US');

export function count(n: number | null | undefined): string {
  return NUMBER.format(n ?? 0);
}

export function percent(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 100) : 0;
}
