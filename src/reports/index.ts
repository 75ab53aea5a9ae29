export { getKpis, getKpisMany, computeKpis, type Kpis } from './kpis.ts';
export { getThroughput, type ThroughputPoint } from './throughput.ts';
export { getFailureBreakdown, type FailureBreakdown } from './failures.ts';
export { getThroughputReport, type ThroughputReport } from './throughput-report.ts';
export { getDomainBreakdown, type DomainRow } from './domain-breakdown.ts';
export { getLinkReport, type LinkReportRow } from './links.ts';
