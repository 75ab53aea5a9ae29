export { getKpis, getKpisMany, computeKpis, type Kpis } from './kpis.ts';
export { getThroughput, type ThroughputPoint } from './throughput.ts';
export { getFailureBreakdown, type FailureBreakdown } from './failures.ts';
export { getLinkReport, type LinkReportRow } from './links.ts';
