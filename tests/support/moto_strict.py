"""Start moto_server with AWS's paging limits made strict.

moto is kinder than AWS about paging, which hides paging bugs. This wrapper patches moto in its own
process so that, as on AWS:

- ECS ListServices pages at 10 by default and at 100 at most (moto returns everything in one page);
- ECS DescribeServices refuses more than 10 services in one call (moto accepts any number);
- Application Auto Scaling DescribeScalableTargets returns a NextToken that moves forward (moto's
  token repeats past 100 targets, so a paginator loops forever) and caps MaxResults at 50.

It also lets /moto-api/data.json work with Aurora clusters present, and keeps it small (see the end),
and keeps an ECS service's capacity provider strategy (FARGATE / FARGATE_SPOT), which moto drops.
It also serves DocumentDB clusters (engine `docdb`) on the RDS API as AWS does: moto 5 refuses the
engine in CreateDBCluster (it knows Neptune's, not DocumentDB's), so the engine lists and defaults
gain it.

Usage: python3 moto_strict.py PORT
"""

import json
import os
import sys

# moto's default AMIs (with their snapshots and volumes: ~5 MB of /moto-api/data.json once EC2 is
# touched, which seed.py does for the default VPC) are nothing lightsout uses.
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

from moto.applicationautoscaling import responses as aas_responses
from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
from moto.core.responses import ActionResult
from moto.ecs.exceptions import InvalidParameterException
from moto.ecs.responses import EC2ContainerServiceResponse

_original_describe_services = EC2ContainerServiceResponse.describe_services


def list_services(self):
    cluster = self._get_param("cluster", "default")
    arns = self.ecs_backend.list_services(
        cluster, self._get_param("schedulingStrategy"), launch_type=self._get_param("launchType")
    )
    max_results = self._get_param("maxResults") or 10
    if not 1 <= int(max_results) <= 100:
        raise InvalidParameterException("maxResults must be between 1 and 100.")
    start = int(self._get_param("nextToken") or 0)
    page = arns[start : start + int(max_results)]
    result = {"serviceArns": page}
    if start + len(page) < len(arns):
        result["nextToken"] = str(start + len(page))
    return ActionResult(result)


def describe_services(self):
    services = self._get_param("services", [])
    if len(services) > 10:
        raise InvalidParameterException(
            "Service names can not be more than 10 in a single DescribeServices request."
        )
    return _original_describe_services(self)


_original_create_service = EC2ContainerServiceResponse.create_service


def create_service(self):
    """As moto's, keeping the capacity provider strategy (which then replaces the launch type, as
    on AWS, where a service has one or the other)."""
    result = _original_create_service(self)
    strategy = self._get_param("capacityProviderStrategy")
    if strategy:
        services, _ = self.ecs_backend.describe_services(
            self._get_param("cluster", "default"), [self._get_param("serviceName")]
        )
        services[0].capacity_provider_strategy = strategy
        services[0].launch_type = None
    return result


def describe_scalable_targets(self):
    self._validate_params()
    max_results = self._get_int_param("MaxResults") or 50
    if max_results > 50:
        max_results = 50
    targets = self.applicationautoscaling_backend.describe_scalable_targets(
        self._get_param("ServiceNamespace"),
        self._get_param("ResourceIds"),
        self._get_param("ScalableDimension"),
    )
    start = int(self._get_param("NextToken") or 0)
    page = targets[start : start + max_results]
    body = {"ScalableTargets": [aas_responses._build_target(t) for t in page]}
    if start + len(page) < len(targets):
        body["NextToken"] = str(start + len(page))
    return json.dumps(body)


# Read-back for tests: /moto-api/data.json (where tests read the mail SES sent) stops at the first
# model attribute that raises something it does not expect (RDS models have write-only
# properties that raise NotImplementedError). Skip any attribute that cannot be read instead.
# Backends are not resources: since moto 5.2.5 EC2Backend is a tracked model whose
# instance_types (3.5 MB a region) made data.json larger than a client will read; leave them out.
from moto.core.base_backend import BaseBackend
from moto.moto_api._internal.responses import MotoAPIResponse


def model_data(self, request, full_url, headers):
    from moto.core.model_instances import model_data as models_by_service

    results = {}
    for service in sorted(models_by_service):
        results[service] = {}
        for name, model in sorted(models_by_service[service].items()):
            rows = results[service][name] = []
            for instance in model.instances_tracked:
                if isinstance(instance, BaseBackend):
                    continue
                row = {}
                for attr in dir(instance):
                    if attr.startswith("_"):
                        continue
                    try:
                        value = getattr(instance, attr)
                        json.dumps(value)
                    except Exception:
                        continue
                    row[attr] = value
                rows.append(row)
    return 200, {"Content-Type": "application/javascript"}, json.dumps(results)


MotoAPIResponse.model_data = model_data

EC2ContainerServiceResponse.list_services = list_services
EC2ContainerServiceResponse.describe_services = describe_services
EC2ContainerServiceResponse.create_service = create_service
ApplicationAutoScalingResponse.describe_scalable_targets = describe_scalable_targets

# DocumentDB: an RDS-API cluster engine moto 5 does not list. Its defaults are AWS's.
from moto.rds import models as rds_models
from moto.rds.utils import ClusterEngine

_cluster_engines = ClusterEngine.list_cluster_engines.__func__


def _with_docdb(cls):
    return sorted(_cluster_engines(cls) + ["docdb"])


ClusterEngine.list_cluster_engines = classmethod(_with_docdb)

from moto.rds.utils import DbInstanceEngine  # noqa: E402

_instance_engines = DbInstanceEngine.valid_db_instance_engine.__func__
DbInstanceEngine.valid_db_instance_engine = classmethod(
    lambda cls: _instance_engines(cls) + ["docdb"]
)


def _docdb_default(original, value):
    def patched(engine, *args, **kwargs):
        return value() if engine == "docdb" else original(engine, *args, **kwargs)

    return staticmethod(patched)


for _model in (rds_models.DBCluster, rds_models.DBInstance):
    if hasattr(_model, "default_engine_version"):
        _model.default_engine_version = _docdb_default(
            _model.default_engine_version, lambda: "5.0.0"
        )
    _model.default_port = _docdb_default(_model.default_port, lambda: 27017)
    _model.default_allocated_storage = _docdb_default(_model.default_allocated_storage, lambda: 0)
rds_models.DBInstance.default_engine_versions["docdb"] = "5.0.0"

if __name__ == "__main__":
    from moto.server import main

    main(["--host", "127.0.0.1", "--port", sys.argv[1]])
