/**
 * Kafka protocol error codes: the single table the whole broker uses.
 *
 * Numbers and names follow Apache Kafka's `Errors.java` (4.x; the highest code defined there is 133).
 * `retriable` records whether the Java client's exception for that code is a `RetriableException`
 * (directly or through `InvalidMetadataException`), which is what Kafka clients use to decide whether
 * to retry a request on their own. The messages are StreamHouse's own short descriptions.
 *
 * Codes are never reused or renumbered upstream, so a number here is stable. Use the constants:
 * `ErrorCode.OFFSET_OUT_OF_RANGE`, never a bare `1`.
 */

export interface ErrorInfo<N extends string = string, C extends number = number> {
  /** The int16 sent on the wire. */
  readonly code: C;
  /** The name as spelled in Kafka's `Errors.java`. */
  readonly name: N;
  /** Whether the Java client treats this error as retriable. */
  readonly retriable: boolean;
  /** A short default message; responses that carry an error message may send something more specific. */
  readonly message: string;
}

const R = true; // the Java client retries these
const F = false; // the Java client surfaces these to the application

function def<const C extends number, const N extends string>(
  code: C,
  name: N,
  retriable: boolean,
  message: string,
): ErrorInfo<N, C> {
  return { code, name, retriable, message };
}

const TABLE = [
  def(-1, 'UNKNOWN_SERVER_ERROR', F, 'The broker hit an unexpected error while handling the request.'),
  def(0, 'NONE', F, 'Success.'),
  def(1, 'OFFSET_OUT_OF_RANGE', F, 'The offset is before the log start or after the log end.'),
  def(2, 'CORRUPT_MESSAGE', R, 'A record batch failed its CRC check or is otherwise malformed.'),
  def(3, 'UNKNOWN_TOPIC_OR_PARTITION', R, 'This broker does not know that topic or partition.'),
  def(4, 'INVALID_FETCH_SIZE', F, 'The fetch size in the request is not valid.'),
  def(5, 'LEADER_NOT_AVAILABLE', R, 'The partition has no leader right now (e.g. an election is running).'),
  def(6, 'NOT_LEADER_OR_FOLLOWER', R, 'This broker is not the leader (or not a replica) of the partition.'),
  def(7, 'REQUEST_TIMED_OUT', R, 'The request did not complete within its timeout.'),
  def(8, 'BROKER_NOT_AVAILABLE', F, 'The broker is not available.'),
  def(9, 'REPLICA_NOT_AVAILABLE', R, 'A replica of the partition is not available.'),
  def(10, 'MESSAGE_TOO_LARGE', F, 'A record batch is larger than the broker accepts for this topic.'),
  def(11, 'STALE_CONTROLLER_EPOCH', F, 'The request came from a controller that is no longer current.'),
  def(12, 'OFFSET_METADATA_TOO_LARGE', F, 'The metadata string of an offset commit is too long.'),
  def(13, 'NETWORK_EXCEPTION', R, 'The connection closed before a response arrived.'),
  def(14, 'COORDINATOR_LOAD_IN_PROGRESS', R, 'The coordinator is still loading its state.'),
  def(15, 'COORDINATOR_NOT_AVAILABLE', R, 'No coordinator is available for this group or transaction.'),
  def(16, 'NOT_COORDINATOR', R, 'This broker is not the coordinator for this group or transaction.'),
  def(17, 'INVALID_TOPIC_EXCEPTION', F, 'The topic name is invalid, or the operation is not allowed on it.'),
  def(18, 'RECORD_LIST_TOO_LARGE', F, 'A record batch is larger than a log segment can hold.'),
  def(19, 'NOT_ENOUGH_REPLICAS', R, 'Too few in-sync replicas; the write was rejected.'),
  def(20, 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', R, 'Appended, but to fewer in-sync replicas than required.'),
  def(21, 'INVALID_REQUIRED_ACKS', F, 'The acks value of a produce request must be -1, 0 or 1.'),
  def(22, 'ILLEGAL_GENERATION', F, 'The group generation in the request is not the current one.'),
  def(23, 'INCONSISTENT_GROUP_PROTOCOL', F, 'The member protocols do not match the group, or are empty.'),
  def(24, 'INVALID_GROUP_ID', F, 'The group id is empty or invalid.'),
  def(25, 'UNKNOWN_MEMBER_ID', F, 'The coordinator does not know this member id.'),
  def(26, 'INVALID_SESSION_TIMEOUT', F, 'The session timeout is outside the range the broker allows.'),
  def(27, 'REBALANCE_IN_PROGRESS', F, 'The group is rebalancing; the member must rejoin.'),
  def(28, 'INVALID_COMMIT_OFFSET_SIZE', F, 'The offset commit data has an invalid size.'),
  def(29, 'TOPIC_AUTHORIZATION_FAILED', F, 'Not authorized for this topic.'),
  def(30, 'GROUP_AUTHORIZATION_FAILED', F, 'Not authorized for this group.'),
  def(31, 'CLUSTER_AUTHORIZATION_FAILED', F, 'Not authorized for this cluster operation.'),
  def(32, 'INVALID_TIMESTAMP', F, 'A record timestamp is outside the range the topic accepts.'),
  def(33, 'UNSUPPORTED_SASL_MECHANISM', F, 'The requested SASL mechanism is not enabled on this broker.'),
  def(34, 'ILLEGAL_SASL_STATE', F, 'The request is not allowed at this point of the SASL exchange.'),
  def(35, 'UNSUPPORTED_VERSION', F, 'This broker does not support that API version.'),
  def(36, 'TOPIC_ALREADY_EXISTS', F, 'A topic with this name already exists.'),
  def(37, 'INVALID_PARTITIONS', F, 'The partition count is invalid.'),
  def(38, 'INVALID_REPLICATION_FACTOR', F, 'The replication factor is invalid for this cluster.'),
  def(39, 'INVALID_REPLICA_ASSIGNMENT', F, 'The replica assignment is invalid.'),
  def(40, 'INVALID_CONFIG', F, 'A configuration name or value is invalid.'),
  def(41, 'NOT_CONTROLLER', R, 'This broker is not the active controller.'),
  def(42, 'INVALID_REQUEST', F, 'The request is malformed or not valid for this broker; see the broker log.'),
  def(43, 'UNSUPPORTED_FOR_MESSAGE_FORMAT', F, 'The topic message format is too old for this request.'),
  def(44, 'POLICY_VIOLATION', F, 'The request breaks a policy configured on the broker.'),
  def(45, 'OUT_OF_ORDER_SEQUENCE_NUMBER', F, 'An idempotent producer sent a sequence number out of order.'),
  def(46, 'DUPLICATE_SEQUENCE_NUMBER', F, 'An idempotent producer resent a sequence already written.'),
  def(47, 'INVALID_PRODUCER_EPOCH', F, 'The producer epoch is older than the current one.'),
  def(48, 'INVALID_TXN_STATE', F, 'The operation is not valid in the current transaction state.'),
  def(49, 'INVALID_PRODUCER_ID_MAPPING', F, 'The producer id is not assigned to this transactional id.'),
  def(50, 'INVALID_TRANSACTION_TIMEOUT', F, 'The transaction timeout exceeds the broker maximum.'),
  def(51, 'CONCURRENT_TRANSACTIONS', R, 'Another operation on this transaction is still in progress.'),
  def(52, 'TRANSACTION_COORDINATOR_FENCED', F, 'The coordinator sending the markers is no longer current.'),
  def(53, 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', F, 'Not authorized for this transactional id.'),
  def(54, 'SECURITY_DISABLED', F, 'Security features are disabled on this broker.'),
  def(55, 'OPERATION_NOT_ATTEMPTED', F, 'Not attempted, because another operation in the same batch failed.'),
  def(56, 'KAFKA_STORAGE_ERROR', R, 'The broker could not read or write its log storage.'),
  def(57, 'LOG_DIR_NOT_FOUND', F, 'The requested log directory is not configured on the broker.'),
  def(58, 'SASL_AUTHENTICATION_FAILED', F, 'SASL authentication failed.'),
  def(59, 'UNKNOWN_PRODUCER_ID', F, 'The broker has no state for this producer id (it may have expired).'),
  def(60, 'REASSIGNMENT_IN_PROGRESS', F, 'A partition reassignment is in progress.'),
  def(61, 'DELEGATION_TOKEN_AUTH_DISABLED', F, 'Delegation tokens are not enabled.'),
  def(62, 'DELEGATION_TOKEN_NOT_FOUND', F, 'The delegation token was not found.'),
  def(63, 'DELEGATION_TOKEN_OWNER_MISMATCH', F, 'The principal is not an owner or renewer of the token.'),
  def(64, 'DELEGATION_TOKEN_REQUEST_NOT_ALLOWED', F, 'Token requests are not allowed on this connection.'),
  def(65, 'DELEGATION_TOKEN_AUTHORIZATION_FAILED', F, 'Not authorized for this delegation token operation.'),
  def(66, 'DELEGATION_TOKEN_EXPIRED', F, 'The delegation token has expired.'),
  def(67, 'INVALID_PRINCIPAL_TYPE', F, 'The principal type is not supported.'),
  def(68, 'NON_EMPTY_GROUP', F, 'The group still has members.'),
  def(69, 'GROUP_ID_NOT_FOUND', F, 'No group with this id exists.'),
  def(70, 'FETCH_SESSION_ID_NOT_FOUND', R, 'The incremental fetch session is unknown to this broker.'),
  def(71, 'INVALID_FETCH_SESSION_EPOCH', R, 'The fetch session epoch does not match the expected one.'),
  def(72, 'LISTENER_NOT_FOUND', R, 'The leader has no listener matching the one this request arrived on.'),
  def(73, 'TOPIC_DELETION_DISABLED', F, 'Topic deletion is disabled on this cluster.'),
  def(74, 'FENCED_LEADER_EPOCH', R, 'The leader epoch in the request is older than the broker epoch.'),
  def(75, 'UNKNOWN_LEADER_EPOCH', R, 'The leader epoch in the request is newer than the broker epoch.'),
  def(76, 'UNSUPPORTED_COMPRESSION_TYPE', F, 'The client cannot read the codec used by this partition.'),
  def(77, 'STALE_BROKER_EPOCH', F, 'The broker epoch in the request is out of date.'),
  def(78, 'OFFSET_NOT_AVAILABLE', R, 'The new leader has not caught up yet, so offsets are not available.'),
  def(79, 'MEMBER_ID_REQUIRED', F, 'The member must rejoin with the member id the coordinator assigned.'),
  def(80, 'PREFERRED_LEADER_NOT_AVAILABLE', R, 'The preferred leader is not available.'),
  def(81, 'GROUP_MAX_SIZE_REACHED', F, 'The group already has the maximum number of members.'),
  def(82, 'FENCED_INSTANCE_ID', F, 'Another member has registered with the same group.instance.id.'),
  def(83, 'ELIGIBLE_LEADERS_NOT_AVAILABLE', R, 'No eligible leader is available for the partition.'),
  def(84, 'ELECTION_NOT_NEEDED', R, 'The partition already has the requested leader.'),
  def(85, 'NO_REASSIGNMENT_IN_PROGRESS', F, 'No partition reassignment is in progress.'),
  def(86, 'GROUP_SUBSCRIBED_TO_TOPIC', F, 'The group is still subscribed to the topic, so its offsets stay.'),
  def(87, 'INVALID_RECORD', F, 'A record failed broker-side validation and was rejected.'),
  def(88, 'UNSTABLE_OFFSET_COMMIT', R, 'Pending transactional offsets must be resolved first.'),
  def(89, 'THROTTLING_QUOTA_EXCEEDED', R, 'A throttling quota was exceeded; retry after the throttle time.'),
  def(90, 'PRODUCER_FENCED', F, 'A newer producer with the same transactional id has fenced this one.'),
  def(91, 'RESOURCE_NOT_FOUND', F, 'The request refers to a resource that does not exist.'),
  def(92, 'DUPLICATE_RESOURCE', F, 'The request refers to the same resource more than once.'),
  def(93, 'UNACCEPTABLE_CREDENTIAL', F, 'The requested credential does not meet the acceptance criteria.'),
  def(94, 'INCONSISTENT_VOTER_SET', F, 'The sender or receiver of a voter request is not an expected voter.'),
  def(95, 'INVALID_UPDATE_VERSION', F, 'The update version is invalid.'),
  def(96, 'FEATURE_UPDATE_FAILED', F, 'The finalized features could not be updated.'),
  def(97, 'PRINCIPAL_DESERIALIZATION_FAILURE', F, 'A forwarded request principal could not be deserialized.'),
  def(98, 'SNAPSHOT_NOT_FOUND', F, 'The requested snapshot does not exist.'),
  def(99, 'POSITION_OUT_OF_RANGE', F, 'The requested snapshot position is out of range.'),
  def(100, 'UNKNOWN_TOPIC_ID', R, 'This broker does not know that topic id.'),
  def(101, 'DUPLICATE_BROKER_REGISTRATION', F, 'This broker id is already registered.'),
  def(102, 'BROKER_ID_NOT_REGISTERED', F, 'This broker id is not registered.'),
  def(103, 'INCONSISTENT_TOPIC_ID', R, 'The topic id in the request does not match the log.'),
  def(104, 'INCONSISTENT_CLUSTER_ID', F, 'The cluster id in the request does not match this cluster.'),
  def(105, 'TRANSACTIONAL_ID_NOT_FOUND', F, 'The transactional id was not found.'),
  def(106, 'FETCH_SESSION_TOPIC_ID_ERROR', R, 'The fetch session used topic ids inconsistently.'),
  def(107, 'INELIGIBLE_REPLICA', F, 'The proposed ISR contains a replica that is not eligible.'),
  def(108, 'NEW_LEADER_ELECTED', F, 'The partition state was updated, but the leader has changed.'),
  def(109, 'OFFSET_MOVED_TO_TIERED_STORAGE', F, 'The requested offset is only available in tiered storage.'),
  def(110, 'FENCED_MEMBER_EPOCH', F, 'The member epoch was fenced; drop all partitions and rejoin.'),
  def(111, 'UNRELEASED_INSTANCE_ID', F, 'The instance id is still held by another member of the group.'),
  def(112, 'UNSUPPORTED_ASSIGNOR', F, 'The group does not support this assignor or assignor version.'),
  def(113, 'STALE_MEMBER_EPOCH', F, 'The member epoch is out of date; retry after the next heartbeat.'),
  def(114, 'MISMATCHED_ENDPOINT_TYPE', F, 'The request was sent to the wrong kind of endpoint.'),
  def(115, 'UNSUPPORTED_ENDPOINT_TYPE', F, 'This endpoint type is not supported.'),
  def(116, 'UNKNOWN_CONTROLLER_ID', F, 'The controller id is unknown.'),
  def(117, 'UNKNOWN_SUBSCRIPTION_ID', F, 'The telemetry subscription id is unknown or out of date.'),
  def(118, 'TELEMETRY_TOO_LARGE', F, 'The telemetry push is larger than the broker accepts.'),
  def(119, 'INVALID_REGISTRATION', F, 'The controller rejected the broker registration.'),
  def(120, 'TRANSACTION_ABORTABLE', F, 'The transaction failed; abort it to keep the transactional id.'),
  def(121, 'INVALID_RECORD_STATE', F, 'The record is not in a state that allows this acknowledgement.'),
  def(122, 'SHARE_SESSION_NOT_FOUND', R, 'The share session is unknown to this broker.'),
  def(123, 'INVALID_SHARE_SESSION_EPOCH', R, 'The share session epoch does not match the expected one.'),
  def(124, 'FENCED_STATE_EPOCH', F, 'The share-group state epoch does not match; the request was rejected.'),
  def(125, 'INVALID_VOTER_KEY', F, 'The voter key does not match the receiving replica.'),
  def(126, 'DUPLICATE_VOTER', F, 'The voter is already in the voter set.'),
  def(127, 'VOTER_NOT_FOUND', F, 'The voter is not in the voter set.'),
  def(128, 'INVALID_REGULAR_EXPRESSION', F, 'The regular expression is invalid.'),
  def(129, 'REBOOTSTRAP_REQUIRED', F, 'Client metadata is stale; rebootstrap from the bootstrap servers.'),
  def(130, 'STREAMS_INVALID_TOPOLOGY', F, 'The streams topology is invalid.'),
  def(131, 'STREAMS_INVALID_TOPOLOGY_EPOCH', F, 'The streams topology epoch is invalid.'),
  def(132, 'STREAMS_TOPOLOGY_FENCED', F, 'The streams topology epoch is out of date.'),
  def(133, 'SHARE_SESSION_LIMIT_REACHED', R, 'The broker has reached its limit of share sessions.'),
] as const;

type Entry = (typeof TABLE)[number];

/** Every error name, e.g. `'OFFSET_OUT_OF_RANGE'`. */
export type ErrorCodeName = Entry['name'];

/** Every error number, e.g. `1`. */
export type ErrorCodeValue = Entry['code'];

/** `ErrorCode.NAME` is the number for that name, typed as its literal. */
export const ErrorCode: { readonly [N in ErrorCodeName]: Extract<Entry, { name: N }>['code'] } =
  Object.freeze(Object.fromEntries(TABLE.map((e) => [e.name, e.code]))) as {
    readonly [N in ErrorCodeName]: Extract<Entry, { name: N }>['code'];
  };

const BY_CODE: ReadonlyMap<number, ErrorInfo<ErrorCodeName, ErrorCodeValue>> = new Map(
  TABLE.map((e) => [e.code, Object.freeze(e)]),
);

/** All errors in code order, -1 first. */
export const ALL_ERRORS: readonly ErrorInfo<ErrorCodeName, ErrorCodeValue>[] = Object.freeze([
  ...BY_CODE.values(),
]);

/** The table entry for a code, or `undefined` for a code this table does not define. */
export function errorInfo(code: number): ErrorInfo<ErrorCodeName, ErrorCodeValue> | undefined {
  return BY_CODE.get(code);
}

/** Whether the Java client would retry this code on its own. Unknown codes are not retriable. */
export function isRetriable(code: number): boolean {
  return BY_CODE.get(code)?.retriable ?? false;
}
