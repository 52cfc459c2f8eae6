import { format, formatDistanceToNowStrict, parseISO } from 'date-fns';

export function ago(iso: string | null | undefined): string {
  if (!iso) return 'never';
  return `${formatDistanceToNowStrict(parseISO(iso))} ago`;
}

export function day(iso: string | null | undefined): string {
  return iso ? format(parseISO(iso), 'yyyy-MM-dd') : '—';
}

// Thousands separators by hand: the first Intl formatter of a page loads the browser's
// locale data, tens of milliseconds on the projects page's critical path.
export function count(n: number | null | undefined): string {
  return String(Math.round(n ?? 0)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function percent(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 100) : 0;
}
