"""What people see: the web console (``/ui``), its insight endpoints, offline API docs, and the
HTML report of a scored file (``nabiz report``)."""
