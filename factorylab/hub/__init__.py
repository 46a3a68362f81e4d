"""`factorylab hub`: a course on JupyterHub, on one machine — learners' and trainer's servers, the shared plant.

- `settings.py`: what one course's hub is (`HubSettings`: the course, its accounts, ports, broker, plant),
  kept as JSON in the hub's state folder, which the generated `jupyterhub_config.py` reads;
- `config.py`: that course as JupyterHub's configuration: authenticator, spawner, each role's environment
  (learners without the trainer's extensions), the plant and its broker as hub-managed services;
- `plant_service.py`: the process JupyterHub runs as the course's plant (and its broker, without Mosquitto);
- `run.py`: prepares the state folder (accounts, broker, nbgrader's exchange, the roles' Jupyter
  configuration) and runs JupyterHub with its proxy.

A real deployment (authentication, TLS, one system account per user) is in course/guides/deployment.md.
"""
