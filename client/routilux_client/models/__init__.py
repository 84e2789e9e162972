"""Contains all the data models used in inputs/outputs"""

from .breakpoint_ import Breakpoint
from .breakpoint_create import BreakpointCreate
from .breakpoint_page import BreakpointPage
from .breakpoint_resume import BreakpointResume
from .breakpoint_resumed import BreakpointResumed
from .connection_spec import ConnectionSpec
from .error_handler_spec import ErrorHandlerSpec
from .error_handler_spec_strategy import ErrorHandlerSpecStrategy
from .event import Event
from .event_data import EventData
from .event_page import EventPage
from .event_type import EventType
from .execution_spec import ExecutionSpec
from .execution_strategy import ExecutionStrategy
from .flow import Flow
from .flow_create import FlowCreate
from .flow_create_routines import FlowCreateRoutines
from .flow_created import FlowCreated
from .flow_created_routines import FlowCreatedRoutines
from .flow_page import FlowPage
from .flow_revision_page import FlowRevisionPage
from .flow_routines import FlowRoutines
from .flow_warning import FlowWarning
from .health import Health
from .invalid_value import InvalidValue
from .job import Job
from .job_error import JobError
from .job_execute import JobExecute
from .job_execute_data import JobExecuteData
from .job_execute_metadata import JobExecuteMetadata
from .job_input import JobInput
from .job_log import JobLog
from .job_log_page import JobLogPage
from .job_metadata import JobMetadata
from .job_output import JobOutput
from .job_page import JobPage
from .job_progress import JobProgress
from .job_status import JobStatus
from .log_level import LogLevel
from .output_payload import OutputPayload
from .paused_at import PausedAt
from .paused_at_payload import PausedAtPayload
from .problem import Problem
from .replica import Replica
from .replica_page import ReplicaPage
from .replica_role import ReplicaRole
from .replica_status import ReplicaStatus
from .routine_progress import RoutineProgress
from .routine_spec import RoutineSpec
from .routine_spec_config import RoutineSpecConfig
from .routine_status import RoutineStatus
from .routine_type import RoutineType
from .routine_type_config_schema import RoutineTypeConfigSchema
from .routine_type_page import RoutineTypePage
from .worker import Worker
from .worker_page import WorkerPage
from .worker_status import WorkerStatus

__all__ = (
    "Breakpoint",
    "BreakpointCreate",
    "BreakpointPage",
    "BreakpointResume",
    "BreakpointResumed",
    "ConnectionSpec",
    "ErrorHandlerSpec",
    "ErrorHandlerSpecStrategy",
    "Event",
    "EventData",
    "EventPage",
    "EventType",
    "ExecutionSpec",
    "ExecutionStrategy",
    "Flow",
    "FlowCreate",
    "FlowCreateRoutines",
    "FlowCreated",
    "FlowCreatedRoutines",
    "FlowPage",
    "FlowRevisionPage",
    "FlowRoutines",
    "FlowWarning",
    "Health",
    "InvalidValue",
    "Job",
    "JobError",
    "JobExecute",
    "JobExecuteData",
    "JobExecuteMetadata",
    "JobInput",
    "JobLog",
    "JobLogPage",
    "JobMetadata",
    "JobOutput",
    "JobPage",
    "JobProgress",
    "JobStatus",
    "LogLevel",
    "OutputPayload",
    "PausedAt",
    "PausedAtPayload",
    "Problem",
    "Replica",
    "ReplicaPage",
    "ReplicaRole",
    "ReplicaStatus",
    "RoutineProgress",
    "RoutineSpec",
    "RoutineSpecConfig",
    "RoutineStatus",
    "RoutineType",
    "RoutineTypeConfigSchema",
    "RoutineTypePage",
    "Worker",
    "WorkerPage",
    "WorkerStatus",
)
