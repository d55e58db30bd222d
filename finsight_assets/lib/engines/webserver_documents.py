"""The GraphQL documents of the webserver calls that dagster_graphql's client does not make."""

from gql import gql

PING = gql("query Ping { version }")

LAUNCH = gql("""
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack cause { message stack } }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
    ... on PartitionSetNotFoundError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { invalidOutputName }
  }
}
""")

# Each code location and whether it loaded; a failed load reads LOADED too, with its error.
LOCATIONS = gql("""
query Locations {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name loadStatus
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
    ... on PythonError { message }
  }
}
""")

BACKFILL = gql("""
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      id status
      tags { key value }
      assetBackfillData {
        assetBackfillStatuses {
          __typename
          ... on AssetPartitionsStatusCounts {
            assetKey { path }
            numPartitionsTargeted numPartitionsInProgress numPartitionsMaterialized
            numPartitionsFailed
          }
        }
      }
      runs { runId status startTime endTime tags { key value } }
    }
    ... on BackfillNotFoundError { message }
    ... on PythonError { message }
  }
}
""")

CANCEL = gql("""
mutation Cancel($id: String!) {
  cancelPartitionBackfill(backfillId: $id) {
    __typename
    ... on PythonError { message }
    ... on UnauthorizedError { message }
  }
}
""")

# What DagsterGraphQLClient.get_run_status leaves out of a run.
RUN_DETAILS = gql("""
query RunDetails($id: ID!) {
  runOrError(runId: $id) {
    __typename
    ... on Run { runId startTime endTime tags { key value } }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}
""")

# Backfills newest first, a page at a time: the cursor is the last id of the page before.
BACKFILLS = gql("""
query Backfills($filters: BulkActionsFilter, $cursor: String, $limit: Int) {
  partitionBackfillsOrError(filters: $filters, cursor: $cursor, limit: $limit) {
    __typename
    ... on PartitionBackfills { results { id status timestamp tags { key value } } }
    ... on PythonError { message }
  }
}
""")

LATEST_MATERIALIZATIONS = gql("""
query Materializations($assetKey: AssetKeyInput!, $partitions: [String!]) {
  assetOrError(assetKey: $assetKey) {
    __typename
    ... on Asset {
      assetMaterializations(partitions: $partitions) {
        partition runId description timestamp
        metadataEntries { label ... on IntMetadataEntry { intValue } }
      }
    }
  }
}
""")
