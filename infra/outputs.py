"""Names of the stack outputs: the standby's StackReference and the cutover CLI read these."""

from typing import Final

CLOUD: Final = "cloud"
ROLE: Final = "role"
REGION: Final = "region"
CAPACITY: Final = "capacity"
ENDPOINT_HOST: Final = "endpointHost"
"""The inference Service's static public IPv4 address (the first of endpointAddresses)."""
ENDPOINT_URL: Final = "endpointUrl"
"""http://<endpointHost>:<port>, what the cutover CLI probes (/health, /v1/models)."""
ENDPOINT_ADDRESSES: Final = "endpointAddresses"
"""Every static IPv4 address of the load balancer (AWS: one Elastic IP per AZ); endpointHost is
the first. DNS answers all of them."""
SERVICE_FQDN: Final = "serviceFqdn"
"""The DNS name clients use (dnsRecord.dnsZone)."""
KUBECONFIG: Final = "kubeconfig"
CLUSTER_NAME: Final = "clusterName"
GPU_POOL_NAMES: Final = "gpuPoolNames"
WORKLOAD_IDENTITY: Final = "workloadIdentity"
MODEL_BUCKET: Final = "modelBucket"
MODEL_BUCKET_URI: Final = "modelBucketUri"
"""s3://bucket, gs://bucket or https://account.blob.core.windows.net/container."""
MODEL_URI: Final = "modelUri"
"""modelBucketUri + modelPath: where the workload loads the model from."""
MODEL_STORE: Final = "modelStore"
"""Dict describing the model store for cross-cloud replication (see components.object_store)."""
SECRET_IDS: Final = "secretIds"
DNS: Final = "dns"
"""Dict describing what this stack created at the DNS authority (see components.dns)."""
REPLICATION: Final = "replication"
"""Standby only: what copies the primary's model store into this one, and on what schedule."""
# Placement.
GPU_ZONES: Final = "gpuZones"
"""Zones of the GPU pool chosen from the cloud's offerings (aws zone IDs, gcp zones, azure zone
numbers). Copy them into the `gpuZones` config once deployed, so a later change in what the cloud
offers never moves the pool's subnets or zones."""
# Operations (cutover CLI audit trail and inventory).
AUDIT_STORE: Final = "auditStore"
"""Dict describing the write-once audit bucket (see components.audit): the CLI appends records there."""
SERVING_IMAGE: Final = "servingImage"
"""The serving image in this stack's own registry, pinned by digest (what the nodes pull)."""
