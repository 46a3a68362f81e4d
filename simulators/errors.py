"""The simulators' one exception family.

Every message names the file, the field or the topic at fault and what is allowed, so the command line
can print it as is (without a traceback) and the user knows what to change.
"""


class SimulatorError(Exception):
    """Base of every error the simulators raise on bad input or an unusable environment."""


class PlantFileError(SimulatorError):
    """A plant file is unreadable or breaks its schema."""


class ScenarioError(SimulatorError):
    """A fault scenario file is unreadable or names something the plant does not have."""


class BrokerError(SimulatorError):
    """An MQTT broker URL is malformed, or the broker cannot be reached or started."""


class CommandError(SimulatorError):
    """A setpoint command is unknown, malformed or out of range; the message is the refusal reason."""


class DatasetError(SimulatorError):
    """A dataset cannot be written where asked (a foreign non-empty folder, a bad format or duration)."""


class UsageError(SimulatorError):
    """A command-line value is out of range for the command (e.g. a warm-up as long as the run)."""
