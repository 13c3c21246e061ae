package httpapi

import (
	"net/http"

	"clavis.dev/clavis"
)

type vaultBody struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

func createVault(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var in vaultBody
	if err := decode(r, &in); err != nil {
		return err
	}
	v, err := s.svc.CreateVault(r.Context(), c, clavis.VaultInput{Name: in.Name, Description: in.Description})
	if err != nil {
		return err
	}
	writeJSON(w, 201, vaultOf(v))
	return nil
}

func listVaults(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vs, err := s.svc.ListVaults(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, 200, vaultList{mapList(vs, vaultOf)})
	return nil
}

func getVault(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid := r.PathValue("vault_id")
	v, err := s.svc.GetVault(r.Context(), c, vid)
	if err != nil {
		return err
	}
	writeJSON(w, 200, vaultOf(v))
	return nil
}

func deleteVault(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid := r.PathValue("vault_id")
	if err := s.svc.DeleteVault(r.Context(), c, vid); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}
