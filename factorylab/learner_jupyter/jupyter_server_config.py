# The learners' JupyterLab: `factorylab lab` copies this folder into its own JUPYTER_CONFIG_DIR (factorylab/lab.py).
# nbgrader's server extensions are the trainer's tools (formgrader, course and assignment lists through an
# exchange factorylab does not use, validation against a course folder): loaded in a learner's server they only
# log "The course directory root is not a subdirectory of the notebook server root" in red.
c = get_config()  # noqa: F821 - provided by Jupyter's config loader
c.ServerApp.jpserver_extensions = {
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.assignment_list": False,
    "nbgrader.server_extensions.course_list": False,
    "nbgrader.server_extensions.validate_assignment": False,
}
# custom/custom.css marks the cells a learner writes in (JupyterLab's custom CSS, read from the config dir).
c.LabApp.custom_css = True
