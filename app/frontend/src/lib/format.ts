import { format, formatDistanceToNowStrict, parseISO } from 'date-fns';

export function ago(iso: string | null | undefined): string {
  if (!iso) return 'never';
  return `${formatDistanceToNowStrict(parseISO(iso))} ago`;
}

export function day(iso: string | null | undefined): string {
  return iso ? format(parseISO(iso), 'yyyy-MM-dd') : '—';
}

export function count(n: number | null | undefined): string {
  return (n ?? 0).toLocaleString('en-US');
}

export function percent(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 100) : 0;
}
