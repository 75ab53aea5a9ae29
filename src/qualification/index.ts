export { recordFailures, listQualifications, requalify, loadOperatorQualifications, OCCURRENCES_CAP, type SeenFailure, type QualificationEntry, type QualificationFilter, type QualificationStatus, type Requalification } from './store.ts';
export { withOperatorQualification, type OperatorQualifications } from './override.ts';
