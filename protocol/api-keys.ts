/**
 * Kafka API keys: the int16 at the start of every request header.
 *
 * Every key Apache Kafka 4.x defines, 0 through 92, with the name of its `<Name>Request.json` spec
 * (minus the `Request` suffix). A key is never reused, so keys that Kafka 4.0 removed (the ZooKeeper-era
 * inter-broker APIs 4-7) stay here for naming and logging; whether StreamHouse serves a key is decided
 * elsewhere, by the ApiVersions table.
 *
 * Names are Kafka 4.1's. Key 74 was called `ListClientMetricsResources` up to 4.0 and was renamed
 * `ListConfigResources` in 4.1 (KIP-1142); the wire format of its v0 did not change.
 */

const TABLE = [
  [0, 'Produce'],
  [1, 'Fetch'],
  [2, 'ListOffsets'],
  [3, 'Metadata'],
  [4, 'LeaderAndIsr'], // removed in 4.0
  [5, 'StopReplica'], // removed in 4.0
  [6, 'UpdateMetadata'], // removed in 4.0
  [7, 'ControlledShutdown'], // removed in 4.0
  [8, 'OffsetCommit'],
  [9, 'OffsetFetch'],
  [10, 'FindCoordinator'],
  [11, 'JoinGroup'],
  [12, 'Heartbeat'],
  [13, 'LeaveGroup'],
  [14, 'SyncGroup'],
  [15, 'DescribeGroups'],
  [16, 'ListGroups'],
  [17, 'SaslHandshake'],
  [18, 'ApiVersions'],
  [19, 'CreateTopics'],
  [20, 'DeleteTopics'],
  [21, 'DeleteRecords'],
  [22, 'InitProducerId'],
  [23, 'OffsetForLeaderEpoch'],
  [24, 'AddPartitionsToTxn'],
  [25, 'AddOffsetsToTxn'],
  [26, 'EndTxn'],
  [27, 'WriteTxnMarkers'],
  [28, 'TxnOffsetCommit'],
  [29, 'DescribeAcls'],
  [30, 'CreateAcls'],
  [31, 'DeleteAcls'],
  [32, 'DescribeConfigs'],
  [33, 'AlterConfigs'],
  [34, 'AlterReplicaLogDirs'],
  [35, 'DescribeLogDirs'],
  [36, 'SaslAuthenticate'],
  [37, 'CreatePartitions'],
  [38, 'CreateDelegationToken'],
  [39, 'RenewDelegationToken'],
  [40, 'ExpireDelegationToken'],
  [41, 'DescribeDelegationToken'],
  [42, 'DeleteGroups'],
  [43, 'ElectLeaders'],
  [44, 'IncrementalAlterConfigs'],
  [45, 'AlterPartitionReassignments'],
  [46, 'ListPartitionReassignments'],
  [47, 'OffsetDelete'],
  [48, 'DescribeClientQuotas'],
  [49, 'AlterClientQuotas'],
  [50, 'DescribeUserScramCredentials'],
  [51, 'AlterUserScramCredentials'],
  [52, 'Vote'],
  [53, 'BeginQuorumEpoch'],
  [54, 'EndQuorumEpoch'],
  [55, 'DescribeQuorum'],
  [56, 'AlterPartition'],
  [57, 'UpdateFeatures'],
  [58, 'Envelope'],
  [59, 'FetchSnapshot'],
  [60, 'DescribeCluster'],
  [61, 'DescribeProducers'],
  [62, 'BrokerRegistration'],
  [63, 'BrokerHeartbeat'],
  [64, 'UnregisterBroker'],
  [65, 'DescribeTransactions'],
  [66, 'ListTransactions'],
  [67, 'AllocateProducerIds'],
  [68, 'ConsumerGroupHeartbeat'],
  [69, 'ConsumerGroupDescribe'],
  [70, 'ControllerRegistration'],
  [71, 'GetTelemetrySubscriptions'],
  [72, 'PushTelemetry'],
  [73, 'AssignReplicasToDirs'],
  [74, 'ListConfigResources'], // ListClientMetricsResources up to 4.0
  [75, 'DescribeTopicPartitions'],
  [76, 'ShareGroupHeartbeat'],
  [77, 'ShareGroupDescribe'],
  [78, 'ShareFetch'],
  [79, 'ShareAcknowledge'],
  [80, 'AddRaftVoter'],
  [81, 'RemoveRaftVoter'],
  [82, 'UpdateRaftVoter'],
  [83, 'InitializeShareGroupState'],
  [84, 'ReadShareGroupState'],
  [85, 'WriteShareGroupState'],
  [86, 'DeleteShareGroupState'],
  [87, 'ReadShareGroupStateSummary'],
  [88, 'StreamsGroupHeartbeat'], // not in 3.9
  [89, 'StreamsGroupDescribe'], // not in 3.9
  [90, 'DescribeShareGroupOffsets'], // not in 3.9
  [91, 'AlterShareGroupOffsets'], // not in 3.9
  [92, 'DeleteShareGroupOffsets'], // not in 3.9
] as const;

type Entry = (typeof TABLE)[number];

/** Every API name, e.g. `'Produce'`. */
export type ApiKeyName = Entry[1];

/** Every API key number, e.g. `0`. */
export type ApiKeyValue = Entry[0];

/** `ApiKey.Produce` is `0`, typed as its literal. */
export const ApiKey: { readonly [N in ApiKeyName]: Extract<Entry, readonly [number, N]>[0] } = Object.freeze(
  Object.fromEntries(TABLE.map(([key, name]) => [name, key])),
) as { readonly [N in ApiKeyName]: Extract<Entry, readonly [number, N]>[0] };

const NAME_BY_KEY: ReadonlyMap<number, ApiKeyName> = new Map(TABLE);

/** The name of an API key, or `undefined` for a key Kafka does not define. */
export function apiKeyName(key: number): ApiKeyName | undefined {
  return NAME_BY_KEY.get(key);
}

/** Every defined key in ascending order. */
export const ALL_API_KEYS: readonly ApiKeyValue[] = Object.freeze(TABLE.map(([key]) => key));
