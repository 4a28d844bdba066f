module posagent

go 1.26
